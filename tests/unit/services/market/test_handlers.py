"""Unit tests for the market handlers and its order book: booking once, executing once, and
finding due orders in a real SQLite database."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from mesh.convert import money, timestamp
from mesh.errors.kinds import InvalidArgument
from mesh.storage.database import Database
from services import events
from services.market import handlers, store
from services.market.domain import (
    SYMBOL_HALTED,
    UNKNOWN_SYMBOL,
    Exchange,
    Execution,
    Rejection,
    UnknownSymbol,
    price_at,
)
from services.market.messages import CODEC
from services.market.store import BookedOrder
from simplebank.events.v1 import events_pb2
from tests.unit.databases import deliver, open_database, outbox_events, outbox_ids

NOW = 1_736_155_800.0  # a fixed instant, so every price below is known
DELAY = 0.2
ORDER = BookedOrder("o-1", "acc-alice", "AAPL", 10, trace_context={})


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path, store.SCHEMA, CODEC) as database:
        yield database


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The market's wall clock, stopped at NOW until a test moves it."""
    fake = SimpleNamespace(time=lambda: NOW)
    monkeypatch.setattr(handlers, "time", fake)
    return fake


async def book(database: Database, symbol: str = "AAPL", quantity: int = 10) -> None:
    event = events.OrderCreated(
        "o-1", "acc-alice", symbol, quantity, datetime.fromtimestamp(NOW, UTC)
    )
    await deliver(database, functools.partial(handlers.book_order, delay=DELAY), event)


async def execute(
    database: Database, order: BookedOrder = ORDER, exchange: Exchange | None = None
) -> Execution | Rejection | None:
    work = functools.partial(
        handlers.execute_order, order, exchange=exchange or Exchange(), now=NOW + DELAY
    )
    return await database.transact(work)


async def due(database: Database, now: float) -> list[str]:
    return [order.order_id for order in await database.transact(lambda c: store.due(c, now))]


async def add_to_book(database: Database, order_id: str, execute_after: float) -> None:
    order = BookedOrder(order_id, "acc-alice", "AAPL", 1, trace_context={})
    await database.transact(lambda c: store.add(c, order, execute_after))


# Booking.


async def test_a_booked_order_is_placed_at_the_notional_of_its_current_price(
    database: Database, clock: SimpleNamespace
) -> None:
    await book(database)

    [placed] = await outbox_events(database, events_pb2.OrderPlaced)
    assert placed.notional == money(price_at("AAPL", NOW) * 10)
    assert placed.placed_at == timestamp(datetime.fromtimestamp(NOW, UTC))
    assert (placed.order_id, placed.account_id, placed.symbol, placed.quantity) == (
        "o-1",
        "acc-alice",
        "AAPL",
        10,
    )
    assert await outbox_ids(database) == ["o-1/OrderPlaced"]


async def test_a_booked_order_becomes_due_once_the_delay_has_passed(
    database: Database, clock: SimpleNamespace
) -> None:
    await book(database)

    assert await due(database, NOW) == []
    assert await due(database, NOW + DELAY) == ["o-1"]


async def test_an_order_booked_twice_is_booked_and_placed_once(
    database: Database, clock: SimpleNamespace
) -> None:
    await book(database)
    clock.time = lambda: NOW + 60
    await book(database)

    assert await outbox_ids(database) == ["o-1/OrderPlaced"]
    assert await database.transact(store.next_due_at) == NOW + DELAY


async def test_an_order_for_an_unknown_symbol_is_placed_with_nothing_to_charge_on(
    database: Database, clock: SimpleNamespace
) -> None:
    await book(database, symbol="ZZZZ")

    [placed] = await outbox_events(database, events_pb2.OrderPlaced)
    assert placed.notional == money(0)
    assert await due(database, NOW + DELAY) == ["o-1"]


# Executing.


async def test_a_due_order_executes_at_the_current_price_once(database: Database) -> None:
    await add_to_book(database, "o-1", NOW)

    first = await execute(database)
    second = await execute(database)

    price = price_at("AAPL", NOW + DELAY)
    [executed] = await outbox_events(database, events_pb2.OrderExecuted)
    assert (executed.price, executed.proceeds) == (money(price), money(price * 10))
    assert executed.executed_at == timestamp(datetime.fromtimestamp(NOW + DELAY, UTC))
    assert await outbox_ids(database) == ["o-1/OrderExecuted"]
    assert first == Execution("o-1", price, price * 10)
    assert second is None
    assert await due(database, NOW + DELAY) == []


async def test_an_order_for_a_halted_symbol_is_rejected_once(database: Database) -> None:
    await add_to_book(database, "o-1", NOW)
    halted = Exchange(halted=frozenset({"AAPL"}))

    first = await execute(database, exchange=halted)
    second = await execute(database, exchange=halted)

    assert first == Rejection("o-1", SYMBOL_HALTED)
    assert second is None
    [rejected] = await outbox_events(database, events_pb2.OrderRejected)
    assert (rejected.order_id, rejected.symbol, rejected.quantity) == ("o-1", "AAPL", 10)
    assert rejected.reason == SYMBOL_HALTED
    assert await outbox_ids(database) == ["o-1/OrderRejected"]


async def test_an_order_that_was_never_booked_is_not_executed(database: Database) -> None:
    assert await execute(database) is None
    assert await outbox_ids(database) == []


# The book.


async def test_due_orders_come_earliest_first_and_only_once_due(database: Database) -> None:
    await add_to_book(database, "late", NOW + 2)
    await add_to_book(database, "early", NOW)
    await add_to_book(database, "middle", NOW + 1)

    assert await due(database, NOW + 1) == ["early", "middle"]
    assert await due(database, NOW + 2) == ["early", "middle", "late"]


async def test_an_executed_order_is_no_longer_due_nor_next(database: Database) -> None:
    await add_to_book(database, "o-1", NOW)
    await add_to_book(database, "o-2", NOW + 5)

    await execute(database)

    assert await due(database, NOW + 5) == ["o-2"]
    assert await database.transact(store.next_due_at) == NOW + 5


async def test_an_empty_book_has_nothing_next(database: Database) -> None:
    assert await database.transact(store.next_due_at) is None


# Quotes.


def test_a_quote_is_the_price_at_that_instant() -> None:
    assert handlers.quote("MSFT", NOW) == price_at("MSFT", NOW)


def test_a_quote_for_an_unknown_symbol_is_not_found() -> None:
    with pytest.raises(UnknownSymbol) as missing:
        handlers.quote("ZZZZ", NOW)

    assert missing.value.reason == UNKNOWN_SYMBOL


def test_a_quote_needs_a_symbol() -> None:
    with pytest.raises(InvalidArgument):
        handlers.quote("", NOW)


def test_the_listed_symbols_are_sorted() -> None:
    assert handlers.listed_symbols() == ["AAPL", "GOOG", "MSFT"]
