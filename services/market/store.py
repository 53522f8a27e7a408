"""Market persistence: the exchange's order book in its database, with when each order executes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mesh.storage.unit_of_work import UnitOfWork

SCHEMA = """
CREATE TABLE IF NOT EXISTS book (
    order_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    state TEXT NOT NULL,
    execute_after DOUBLE PRECISION NOT NULL,
    trace_context TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS book_due ON book (state, execute_after);
"""

OPEN = "OPEN"


@dataclass(frozen=True)
class BookedOrder:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    trace_context: dict[str, str]


def add(
    uow: UnitOfWork,
    order: BookedOrder,
    execute_after: float,
) -> bool:
    """Book an order once; False if it was booked already."""
    return (
        uow.execute(
            "INSERT INTO book VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                order.order_id,
                order.account_id,
                order.symbol,
                order.quantity,
                OPEN,
                execute_after,
                json.dumps(order.trace_context),
            ),
        ).rowcount
        == 1
    )


DUE_BATCH = 100  # orders executed per read of the book


def due(uow: UnitOfWork, now: float, limit: int = DUE_BATCH) -> list[BookedOrder]:
    rows = uow.execute(
        "SELECT order_id, account_id, symbol, quantity, trace_context FROM book"
        " WHERE state = ? AND execute_after <= ? ORDER BY execute_after LIMIT ?",
        (OPEN, now, limit),
    ).fetchall()
    return [
        BookedOrder(
            r["order_id"],
            r["account_id"],
            r["symbol"],
            r["quantity"],
            json.loads(r["trace_context"]),
        )
        for r in rows
    ]


def next_due_at(uow: UnitOfWork, after: float | None = None) -> float | None:
    """When the earliest open order falls due (of those due later than `after`, if given)."""
    earliest = "SELECT MIN(execute_after) FROM book WHERE state = ?"
    if after is None:
        row = uow.execute(earliest, (OPEN,)).fetchone()
    else:
        row = uow.execute(earliest + " AND execute_after > ?", (OPEN, after)).fetchone()
    return None if row[0] is None else float(row[0])


def close(uow: UnitOfWork, order_id: str, state: str) -> bool:
    """Mark an open order executed or rejected; False if it was not open any more."""
    return (
        uow.execute(
            "UPDATE book SET state = ? WHERE order_id = ? AND state = ?", (state, order_id, OPEN)
        ).rowcount
        == 1
    )
