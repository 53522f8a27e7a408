"""Fees persistence: each order's fee and its state in SQLite."""

from __future__ import annotations

import sqlite3

from mesh import consumer, outbox
from services.fees.domain import FeeState, OrderFee

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS order_fees (
    order_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    state TEXT NOT NULL
);
"""
    + outbox.SCHEMA
    + consumer.SCHEMA
)


def get_or_new(connection: sqlite3.Connection, order_id: str, account_id: str) -> OrderFee:
    row = connection.execute(
        "SELECT order_id, account_id, amount, state FROM order_fees WHERE order_id = ?",
        (order_id,),
    ).fetchone()
    if row is None:
        return OrderFee(order_id, account_id)
    return OrderFee(row["order_id"], row["account_id"], row["amount"], FeeState(row["state"]))


def save(connection: sqlite3.Connection, fee: OrderFee) -> None:
    connection.execute(
        "INSERT INTO order_fees VALUES (?, ?, ?, ?) ON CONFLICT (order_id)"
        " DO UPDATE SET amount = excluded.amount, state = excluded.state",
        (fee.order_id, fee.account_id, fee.amount, fee.state.value),
    )
