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


def locked(uow: UnitOfWork, order_id: str, account_id: str) -> OrderFee:
    """The order's fee (NONE if nothing happened to it yet), locked for a change.

    Its row is made first if it is new, so a charge and a refund of one order handled at once
    (two replicas) queue on that row instead of both starting from "no fee" and the second
    overwriting the first.
    """
    uow.execute(
        "INSERT INTO order_fees VALUES (?, ?, 0, ?) ON CONFLICT (order_id) DO NOTHING",
        (order_id, account_id, FeeState.NONE.value),
    )
    row = uow.lock(
        "SELECT order_id, account_id, amount, state FROM order_fees WHERE order_id = ?",
        (order_id,),
    ).fetchone()
    return OrderFee(row["order_id"], row["account_id"], row["amount"], FeeState(row["state"]))


def save(uow: UnitOfWork, fee: OrderFee) -> None:
    uow.execute(
        "INSERT INTO order_fees VALUES (?, ?, ?, ?) ON CONFLICT (order_id)"
        " DO UPDATE SET amount = excluded.amount, state = excluded.state",
        (fee.order_id, fee.account_id, fee.amount, fee.state.value),
    )
