"""Orders persistence: orders and their history in its database, loaded into domain objects."""

from __future__ import annotations

from datetime import datetime

from mesh.storage.unit_of_work import Row, UnitOfWork
from services.orders.domain import Order, OrderStatus, Placement, StatusChange
from services.orders.paging import Cursor

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL,
    fee BIGINT NOT NULL,
    proceeds BIGINT NOT NULL,
    price BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_account ON orders (account_id, created_at);
CREATE TABLE IF NOT EXISTS order_history (
    order_id TEXT NOT NULL REFERENCES orders (order_id),
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
-- Orders being placed: the reserve attempt that may hold shares for an order not stored yet.
-- One at a time per order; the save that stores the order deletes its row in the same
-- transaction, and an abandoned one is released before its row goes (orders.placements).
CREATE TABLE IF NOT EXISTS placements (
    order_id TEXT PRIMARY KEY,
    attempt_id TEXT NOT NULL,
    give_back_after DOUBLE PRECISION NOT NULL,
    abandoned BIGINT NOT NULL
);
"""


def get(uow: UnitOfWork, order_id: str, lock: bool = False) -> Order | None:
    """The order with its history; `lock`: its row locked first, for a change to it (events
    of one order handled at once by two replicas then apply one after the other)."""
    select = "SELECT * FROM orders WHERE order_id = ?"
    row = (uow.lock if lock else uow.execute)(select, (order_id,)).fetchone()
    return None if row is None else _load(uow, row)


def list_for_account(
    uow: UnitOfWork, account_id: str, limit: int | None = None, after: Cursor | None = None
) -> list[Order]:
    """An account's orders, newest first (ties by order_id): at most `limit` of them, those
    after the `after` cursor (a keyset: the same query plan on every page, and no order is
    skipped or repeated when new ones arrive between pages)."""
    sql = "SELECT * FROM orders WHERE account_id = ?"
    params: list[object] = [account_id]
    if after is not None:
        sql += " AND (created_at < ? OR (created_at = ? AND order_id > ?))"
        params += [after.created_at, after.created_at, after.order_id]
    sql += " ORDER BY created_at DESC, order_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = uow.execute(sql, tuple(params)).fetchall()
    return [_load(uow, row) for row in rows]


def cursor_after(order: Order) -> Cursor:
    """The cursor of the page that ends with this order."""
    return Cursor(order.account_id, order.created_at.isoformat(), order.order_id)


def save(uow: UnitOfWork, order: Order, stored: int = 0) -> None:
    """Insert or update the order, and append its history entries from the `stored`-th on (the
    ones before are in the table already: the order was loaded with them)."""
    uow.execute(
        "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, fee = excluded.fee,"
        " proceeds = excluded.proceeds, price = excluded.price, reason = excluded.reason,"
        " updated_at = excluded.updated_at",
        (
            order.order_id,
            order.account_id,
            order.symbol,
            order.quantity,
            order.status.value,
            order.fee,
            order.proceeds,
            order.price,
            order.reason,
            order.created_at.isoformat(),
            order.updated_at.isoformat(),
        ),
    )
    uow.executemany(
        "INSERT INTO order_history VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (order.order_id, seq, change.status.value, change.at.isoformat(), change.note)
            for seq, change in enumerate(order.history)
            if seq >= stored
        ],
    )


def begin_placement(uow: UnitOfWork, placement: Placement) -> bool:
    """Record an attempt at placing its order; False if another attempt is under way."""
    inserted = uow.execute(
        "INSERT INTO placements VALUES (?, ?, ?, 0) ON CONFLICT (order_id) DO NOTHING",
        (placement.order_id, placement.attempt_id, placement.give_back_after),
    )
    return inserted.rowcount == 1


def get_placement(uow: UnitOfWork, order_id: str) -> Placement | None:
    row = uow.execute("SELECT * FROM placements WHERE order_id = ?", (order_id,)).fetchone()
    return None if row is None else _placement(row)


def finish_placement(uow: UnitOfWork, placement: Placement) -> bool:
    """End an attempt whose order is being stored; False if it was abandoned meanwhile."""
    finished = uow.execute(
        "DELETE FROM placements WHERE order_id = ? AND attempt_id = ? AND abandoned = 0",
        (placement.order_id, placement.attempt_id),
    )
    return finished.rowcount == 1


def abandon_placement(uow: UnitOfWork, placement: Placement) -> bool:
    """Mark an attempt given up; False if it is gone (its order was stored, or given back)."""
    marked = uow.execute(
        "UPDATE placements SET abandoned = 1 WHERE order_id = ? AND attempt_id = ?",
        (placement.order_id, placement.attempt_id),
    )
    return marked.rowcount == 1


def drop_placement(uow: UnitOfWork, placement: Placement) -> None:
    uow.execute(
        "DELETE FROM placements WHERE order_id = ? AND attempt_id = ?",
        (placement.order_id, placement.attempt_id),
    )


def due_placements(uow: UnitOfWork, now: float) -> list[Placement]:
    rows = uow.execute(
        "SELECT * FROM placements WHERE abandoned = 1 OR give_back_after < ? ORDER BY order_id",
        (now,),
    ).fetchall()
    return [_placement(row) for row in rows]


def _placement(row: Row) -> Placement:
    return Placement(
        row["order_id"], row["attempt_id"], row["give_back_after"], bool(row["abandoned"])
    )


def _load(uow: UnitOfWork, row: Row) -> Order:
    history = [
        StatusChange(OrderStatus(h["status"]), datetime.fromisoformat(h["at"]), h["note"])
        for h in uow.execute(
            "SELECT status, at, note FROM order_history WHERE order_id = ? ORDER BY seq",
            (row["order_id"],),
        )
    ]
    return Order(
        order_id=row["order_id"],
        account_id=row["account_id"],
        symbol=row["symbol"],
        quantity=row["quantity"],
        status=OrderStatus(row["status"]),
        fee=row["fee"],
        proceeds=row["proceeds"],
        price=row["price"],
        reason=row["reason"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        history=history,
    )
