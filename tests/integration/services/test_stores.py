"""Every service's store on both backends (SQLite and PostgreSQL), the same assertions: what is
saved is what is read back, and the idempotent writes stay idempotent."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services.accounts import domain as accounts_domain
from services.accounts import store as accounts
from services.fees import store as fees
from services.fees.domain import FeeState, OrderFee
from services.market import store as market
from services.market.messages import CODEC as MARKET_CODEC
from services.orders import store as orders
from services.orders.domain import Order, OrderStatus
from tests.unit.databases import open_at

pytestmark = pytest.mark.integration

AT = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
BOOKED = market.BookedOrder("o-1", "acc-alice", "AAPL", 10, {"traceparent": "00-ab-cd-01"})


@pytest.fixture
async def accounts_db(location: Path | str) -> AsyncIterator[Database]:
    async with open_at(location, accounts.SCHEMA) as database:
        await database.transact(accounts.seed_if_empty)
        yield database


async def test_accounts_are_seeded_once_with_positions_and_an_opening_ledger(
    accounts_db: Database,
) -> None:
    await accounts_db.transact(accounts.seed_if_empty)

    alice = await accounts_db.transact(lambda u: accounts.get_account(u, "acc-alice"))
    ledger = await accounts_db.transact(
        lambda u: u.execute("SELECT SUM(amount) AS total, COUNT(*) FROM ledger").fetchone()
    )
    assert alice is not None
    assert alice.cash == 1_000_000
    assert {s: p.quantity for s, p in alice.positions.items()} == {"AAPL": 100, "MSFT": 50}
    assert (ledger["total"], ledger[1]) == (0, 4)  # two openings, two entries each


async def test_a_reservation_and_its_positions_round_trip(accounts_db: Database) -> None:
    def reserve(uow: UnitOfWork) -> None:
        account = accounts.get_account(uow, "acc-alice")
        assert account is not None
        reservation = accounts_domain.reserve(account, "o-1", "AAPL", 10)
        accounts.save_position(uow, account, "AAPL")
        accounts.save_reservation(uow, reservation)

    await accounts_db.transact(reserve)

    alice = await accounts_db.transact(lambda u: accounts.get_account(u, "acc-alice"))
    held = await accounts_db.transact(lambda u: accounts.get_reservation(u, "o-1"))
    assert alice is not None
    assert alice.positions["AAPL"].reserved == 10
    assert held == accounts_domain.Reservation(
        "o-1", "acc-alice", "AAPL", 10, accounts_domain.ReservationState.HELD
    )
    assert await accounts_db.transact(lambda u: accounts.get_reservation(u, "o-2")) is None


async def test_a_fee_is_none_until_saved_then_read_back_locked(location: Path | str) -> None:
    async with open_at(location, fees.SCHEMA) as database:
        new = await database.transact(lambda u: fees.locked(u, "o-1", "acc-alice"))
        await database.transact(
            lambda u: fees.save(u, OrderFee("o-1", "acc-alice", 290, FeeState.CHARGED))
        )
        await database.transact(
            lambda u: fees.save(u, OrderFee("o-1", "acc-alice", 0, FeeState.REFUNDED))
        )
        stored = await database.transact(lambda u: fees.locked(u, "o-1", "acc-alice"))

    assert new == OrderFee("o-1", "acc-alice")
    assert stored == OrderFee("o-1", "acc-alice", 0, FeeState.REFUNDED)


async def test_an_order_is_booked_once_found_when_due_and_closed_once(
    location: Path | str,
) -> None:
    async with open_at(location, market.SCHEMA, MARKET_CODEC) as database:
        first = await database.transact(lambda u: market.add(u, BOOKED, execute_after=100.5))
        again = await database.transact(lambda u: market.add(u, BOOKED, execute_after=200.0))
        early = await database.transact(lambda u: market.due(u, now=100.0))
        due = await database.transact(lambda u: market.due(u, now=101.0))
        next_at = await database.transact(market.next_due_at)
        next_after = await database.transact(lambda u: market.next_due_at(u, after=100.0))
        none_after = await database.transact(lambda u: market.next_due_at(u, after=100.5))
        closed = await database.transact(lambda u: market.close(u, "o-1", "EXECUTED"))
        closed_again = await database.transact(lambda u: market.close(u, "o-1", "REJECTED"))
        after = await database.transact(market.next_due_at)

    assert (first, again) == (True, False)
    assert early == []
    assert due == [BOOKED]
    assert next_at == 100.5
    assert (next_after, none_after) == (100.5, None)  # due later than `after` only
    assert (closed, closed_again) == (True, False)
    assert after is None


def save_order(uow: UnitOfWork, order: Order) -> None:
    orders.save(uow, order)


async def test_an_order_and_its_history_round_trip_and_list_newest_first(
    location: Path | str,
) -> None:
    older = Order.new("o-1", "acc-alice", "AAPL", 10, AT)
    newer = Order.new("o-2", "acc-alice", "MSFT", 5, AT + timedelta(seconds=1))
    async with open_at(location, orders.SCHEMA) as database:
        for order in (older, newer):
            await database.transact(functools.partial(save_order, order=order))
        older.mark_placed(AT + timedelta(seconds=2))
        older.mark_filled(19_000, 190_000, AT + timedelta(seconds=3))
        await database.transact(lambda u: orders.save(u, older))
        await database.transact(lambda u: orders.save(u, older))  # history rows are not doubled
        stored = await database.transact(lambda u: orders.get(u, "o-1"))
        listed = await database.transact(lambda u: orders.list_for_account(u, "acc-alice"))

    assert stored == older
    assert stored is not None
    assert [c.status for c in stored.history] == [
        OrderStatus.PENDING,
        OrderStatus.PLACED,
        OrderStatus.FILLED,
    ]
    assert [o.order_id for o in listed] == ["o-2", "o-1"]


async def test_orders_page_by_keyset_newest_first_ties_by_order_id(
    location: Path | str,
) -> None:
    # Seven orders: pairs share a created_at (ties go by order_id), and one has no microseconds.
    stamps = [AT, AT, AT + timedelta(microseconds=500), AT + timedelta(seconds=1)] * 2
    placed = [Order.new(f"o-{n}", "acc-alice", "AAPL", 1, at) for n, at in enumerate(stamps[:7])]
    async with open_at(location, orders.SCHEMA) as database:
        for order in [*placed, Order.new("o-bob", "acc-bob", "GOOG", 1, AT)]:
            await database.transact(functools.partial(save_order, order=order))
        everything = await database.transact(lambda u: orders.list_for_account(u, "acc-alice"))
        pages: list[list[str]] = []
        after = None
        while True:
            page = await database.transact(
                functools.partial(
                    orders.list_for_account, account_id="acc-alice", limit=3, after=after
                )
            )
            if not page:
                break
            pages.append([o.order_id for o in page])
            after = orders.cursor_after(page[-1])

    assert [o.order_id for o in everything] == ["o-3", "o-2", "o-6", "o-0", "o-1", "o-4", "o-5"]
    assert pages == [["o-3", "o-2", "o-6"], ["o-0", "o-1", "o-4"], ["o-5"]]
