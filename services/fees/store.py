"""Fees persistence: each order's fee and its state in its database."""

from __future__ import annotations

from mesh.storage.unit_of_work import UnitOfWork
from services.fees.domain import FeeState, OrderFee

SCHEMA = """
CREATE TABLE IF NOT EXISTS order_fees (
    order_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    state TEXT NOT NULL
);
"""


def get_or_new(uow: UnitOfWork, order_id: str, account_id: str) -> OrderFee:
    row = uow.execute(
        "SELECT order_id, account_id, amount, state FROM order_fees WHERE order_id = ?",
        (order_id,),
    ).fetchone()
    if row is None:
        return OrderFee(order_id, account_id)
    return OrderFee(row["order_id"], row["account_id"], row["amount"], FeeState(row["state"]))


def save(uow: UnitOfWork, fee: OrderFee) -> None:
    uow.execute(
        "INSERT INTO order_fees VALUES (?, ?, ?, ?) ON CONFLICT (order_id)"
        " DO UPDATE SET amount = excluded.amount, state = excluded.state",
        (fee.order_id, fee.account_id, fee.amount, fee.state.value),
    )
