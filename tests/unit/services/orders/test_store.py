"""Saving an order appends only the history entries it did not have when it was loaded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from mesh.storage.unit_of_work import UnitOfWork
from services.orders import store
from services.orders.domain import Order

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class Statements:
    """The rows each statement was given, by its first words."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Sequence[Any]]] = {}

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> None:
        self.rows.setdefault(" ".join(sql.split()[:3]), []).append(parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> None:
        self.rows.setdefault(" ".join(sql.split()[:3]), []).extend(rows)


def test_a_changed_order_appends_only_its_new_history_entries() -> None:
    order = Order.new("o-1", "acc-alice", "AAPL", 10, AT)
    order.mark_placed(AT + timedelta(seconds=1))
    loaded_with = len(order.history)
    order.mark_filled(19_000, 190_000, AT + timedelta(seconds=2))
    statements = Statements()

    store.save(cast(UnitOfWork, statements), order, loaded_with)

    history = statements.rows["INSERT INTO order_history"]
    assert [(row[1], row[2]) for row in history] == [(2, "FILLED")]
    assert len(statements.rows["INSERT INTO orders"]) == 1


def test_a_new_order_stores_its_whole_history() -> None:
    order = Order.new("o-1", "acc-alice", "AAPL", 10, AT)
    statements = Statements()

    store.save(cast(UnitOfWork, statements), order)

    assert [row[1] for row in statements.rows["INSERT INTO order_history"]] == [0]
