"""Unit tests for the orders handlers: placing orders against a fake accounts service, and
following each order's events in a real SQLite database."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mesh.calls.deadline import budget
from mesh.errors.kinds import (
    CIRCUIT_OPEN,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    Unavailable,
)
from mesh.storage.database import Database
from services import events
from services.orders import handlers, paging, store
from services.orders.domain import (
    IdempotencyKeyReused,
    Order,
    OrderNotFound,
    OrderStatus,
    Placement,
    PlacementAbandoned,
    order_id_for,
)
from services.orders.handlers import PlaceOrder
from services.orders.placements import PlacementSweeper, give_back
from simplebank.events.v1 import events_pb2
from tests.unit.databases import deliver, outbox_events, outbox_ids
from tests.unit.services.orders.fakes import Commits, FakeHoldings

REQUEST = PlaceOrder(account_id="acc-alice", symbol="AAPL", quantity=10, request_id="req-1")
ORDER_ID = order_id_for(REQUEST.account_id, REQUEST.request_id)
START = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
PRICE, PROCEEDS, FEE = 19_000, 190_000, 290
ORDER = (REQUEST.account_id, REQUEST.symbol, REQUEST.quantity)


async def place(database: Database, holdings: FakeHoldings, **changes: Any) -> Order:
    command = dataclasses.replace(REQUEST, **changes)
    return await handlers.place_order(command, database, holdings)


async def stored_orders(database: Database, account_id: str = "acc-alice") -> list[Order]:
    return await database.transact(lambda c: store.list_for_account(c, account_id))


async def placements(database: Database) -> list[Placement]:
    return await database.transact(lambda c: store.due_placements(c, now=float("inf")))


async def refuse_to_store_orders(database: Database) -> None:
    """Make SQLite itself fail every insert into orders, as a full disk would."""
    await database.transact(
        lambda c: c.execute(
            "CREATE TRIGGER refuse_orders BEFORE INSERT ON orders"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    )


def at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


# The events that follow an order, each as the consumer would deliver it.


async def placed(database: Database) -> None:
    await deliver(
        database, handlers.mark_order_placed, events.OrderPlaced(ORDER_ID, *ORDER, PROCEEDS, at(1))
    )


async def executed(database: Database) -> None:
    event = events.OrderExecuted(ORDER_ID, *ORDER, PRICE, PROCEEDS, at(2))
    await deliver(database, handlers.mark_order_filled, event)


async def rejected(database: Database) -> None:
    event = events.OrderRejected(ORDER_ID, *ORDER, "SYMBOL_HALTED", at(2))
    await deliver(database, handlers.mark_order_rejected, event)


async def fee_charged(database: Database) -> None:
    await deliver(database, handlers.record_fee, events.FeeCharged(ORDER_ID, "acc-alice", FEE))


async def fee_refunded(database: Database) -> None:
    await deliver(
        database, handlers.record_fee_refund, events.FeeRefunded(ORDER_ID, "acc-alice", FEE)
    )


Event = Callable[[Database], Awaitable[None]]
ALL_EVENTS = (placed, executed, rejected, fee_charged, fee_refunded)


def event_names(events: Sequence[Event]) -> str:
    return "-".join(event.__name__ for event in events)


async def order_after(database: Database, holdings: FakeHoldings, events: Sequence[Event]) -> Order:
    await place(database, holdings)
    for event in events:
        await event(database)
    return await handlers.get_order(ORDER_ID, database)


# Placing orders.


async def test_a_placed_order_is_stored_pending_with_one_order_created_event(
    database: Database, holdings: FakeHoldings, commits: Commits
) -> None:
    order = await place(database, holdings)

    assert order.order_id == ORDER_ID
    assert order.status is OrderStatus.PENDING
    assert await handlers.get_order(ORDER_ID, database) == order
    assert await outbox_ids(database) == [f"{ORDER_ID}/OrderCreated"]
    [created] = await outbox_events(database, events_pb2.OrderCreated)
    assert (created.order_id, created.account_id, created.symbol, created.quantity) == (
        ORDER_ID,
        "acc-alice",
        "AAPL",
        10,
    )
    assert commits.count == 1
    assert await placements(database) == [], "the save ended the placement"


async def test_the_shares_are_reserved_for_the_order_before_it_is_stored(
    database: Database, holdings: FakeHoldings
) -> None:
    await place(database, holdings)

    assert holdings.reserved == [(ORDER_ID, "acc-alice", "AAPL", 10)]


async def test_the_same_request_twice_places_one_order_with_one_reservation(
    database: Database, holdings: FakeHoldings, commits: Commits
) -> None:
    first = await place(database, holdings)
    second = await place(database, holdings)

    assert second == first
    assert len(holdings.reserved) == 1
    assert await outbox_ids(database) == [f"{ORDER_ID}/OrderCreated"]
    assert commits.count == 1


@pytest.mark.parametrize("changes", [{"symbol": "MSFT"}, {"quantity": 11}])
async def test_a_request_id_reused_with_other_parameters_is_refused(
    database: Database, holdings: FakeHoldings, changes: dict[str, Any]
) -> None:
    await place(database, holdings)

    with pytest.raises(IdempotencyKeyReused):
        await place(database, holdings, **changes)
    assert len(holdings.reserved) == 1


async def test_the_same_request_id_from_another_account_is_another_order(
    database: Database, holdings: FakeHoldings
) -> None:
    alices = await place(database, holdings)
    bobs = await place(database, holdings, account_id="acc-bob")

    assert alices.order_id != bobs.order_id
    assert len(await outbox_ids(database)) == 2


async def test_an_invalid_request_reports_every_bad_field_and_reserves_nothing(
    database: Database, holdings: FakeHoldings
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await place(database, holdings, account_id="", symbol="", quantity=0, request_id="")

    assert {v.field for v in refused.value.violations} == {
        "account_id",
        "symbol",
        "quantity",
        "request_id",
    }
    assert holdings.reserved == []


async def test_a_refused_reservation_reaches_the_caller_and_leaves_no_order_or_event(
    database: Database, holdings: FakeHoldings, commits: Commits
) -> None:
    holdings.refusal = FailedPrecondition("only 5 available", reason="INSUFFICIENT_HOLDINGS")

    with pytest.raises(FailedPrecondition) as refused:
        await place(database, holdings)

    assert refused.value is holdings.refusal
    assert await stored_orders(database) == []
    assert await outbox_ids(database) == []
    assert commits.count == 0
    assert holdings.released == []
    assert await placements(database) == [], "a refusal held nothing: nothing to give back"


async def test_a_reserve_call_the_open_circuit_refused_releases_nothing(
    database: Database, holdings: FakeHoldings
) -> None:
    holdings.refusal = Unavailable("accounts is unavailable: circuit open", reason=CIRCUIT_OPEN)

    with pytest.raises(Unavailable) as refused:
        await place(database, holdings)

    assert refused.value is holdings.refusal
    assert holdings.released == []


@pytest.mark.parametrize(
    "lost",
    [
        asyncio.CancelledError(),  # the caller went away mid-call (a gateway killed: chaos)
        Unavailable("accounts went away"),
        DeadlineExceeded("accounts took too long"),
    ],
    ids=["cancelled", "unavailable", "deadline"],
)
async def test_shares_held_by_a_reserve_call_whose_answer_was_lost_are_released(
    database: Database, holdings: FakeHoldings, lost: BaseException
) -> None:
    holdings.after_reserve = lost

    with pytest.raises(type(lost)):
        await place(database, holdings)

    assert holdings.reserved, "accounts held the shares"
    assert holdings.released == [ORDER_ID]
    assert holdings.released_attempts == holdings.attempts, "released by the attempt's own id"
    assert await stored_orders(database) == []
    assert await outbox_ids(database) == []
    assert await placements(database) == []


async def test_a_failed_give_back_after_a_lost_reserve_answer_keeps_the_reserve_error(
    database: Database, holdings: FakeHoldings
) -> None:
    holdings.after_reserve = Unavailable("accounts went away")
    holdings.release_refusal = Unavailable("circuit open")

    with pytest.raises(Unavailable) as failed:
        await place(database, holdings)

    assert failed.value is holdings.after_reserve
    assert await stored_orders(database) == []
    [left] = await placements(database)
    assert left.abandoned, "left for the sweeper, marked so its save can never store the order"


async def test_the_sweeper_gives_back_what_a_failed_give_back_left_once_accounts_answers(
    database: Database, holdings: FakeHoldings
) -> None:
    holdings.after_reserve = Unavailable("accounts went away")
    holdings.release_refusal = Unavailable("circuit open")
    with pytest.raises(Unavailable):
        await place(database, holdings)
    sweeper = PlacementSweeper(database, holdings)

    assert await sweeper.sweep() == 1
    assert holdings.released == [], "accounts still away"
    holdings.release_refusal = None
    assert await sweeper.sweep() == 1

    assert holdings.released_attempts == holdings.attempts
    assert await placements(database) == []
    assert await sweeper.sweep() == 0


async def test_the_sweeper_gives_back_a_placement_whose_process_died_once_it_is_overdue(
    database: Database, holdings: FakeHoldings
) -> None:
    # What a replica killed between its reserve call and its save leaves behind.
    now = time.time()
    dead = Placement(ORDER_ID, "attempt-of-a-dead-replica", give_back_after=now + 60)
    await database.transact(lambda c: store.begin_placement(c, dead))
    sweeper = PlacementSweeper(database, holdings)

    assert await sweeper.sweep() == 0, "not overdue yet: its handler may still be saving"
    await database.transact(
        lambda c: c.execute("UPDATE placements SET give_back_after = ?", (now - 1,))
    )
    assert await sweeper.sweep() == 1

    assert holdings.released_attempts == ["attempt-of-a-dead-replica"]
    assert await placements(database) == []


async def test_a_retry_that_finds_an_overdue_placement_gives_it_back_and_places_the_order(
    database: Database, holdings: FakeHoldings
) -> None:
    dead = Placement(ORDER_ID, "attempt-of-a-dead-replica", give_back_after=time.time() - 1)
    await database.transact(lambda c: store.begin_placement(c, dead))

    order = await place(database, holdings)

    assert holdings.released_attempts == ["attempt-of-a-dead-replica"]
    assert holdings.attempts != ["attempt-of-a-dead-replica"], "reserved with an attempt of its own"
    assert await stored_orders(database) == [order]
    assert await placements(database) == []


async def test_a_save_after_the_sweeper_gave_the_placement_back_stores_nothing(
    database: Database, holdings: FakeHoldings, commits: Commits
) -> None:
    async def the_sweeper_gives_it_back_meanwhile() -> None:
        [mine] = await placements(database)
        await give_back(mine, database, holdings)

    holdings.during_reserve = the_sweeper_gives_it_back_meanwhile

    with pytest.raises(PlacementAbandoned) as refused:
        await place(database, holdings)

    assert refused.value.metadata == {"order_id": ORDER_ID}
    assert holdings.released_attempts == holdings.attempts
    assert await stored_orders(database) == []
    assert commits.count == 0


async def test_shares_reserved_for_an_order_that_could_not_be_stored_are_released(
    database: Database, holdings: FakeHoldings, commits: Commits
) -> None:
    await refuse_to_store_orders(database)

    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await place(database, holdings)

    assert holdings.released == [ORDER_ID]
    assert await stored_orders(database) == []
    assert await outbox_ids(database) == []
    assert commits.count == 0


async def test_the_release_after_a_failed_store_runs_without_the_callers_deadline(
    database: Database, holdings: FakeHoldings
) -> None:
    await refuse_to_store_orders(database)

    with budget(1.0), pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await place(database, holdings)

    assert holdings.deadlines_at_release == [None]


async def test_an_order_stored_after_its_caller_gave_up_keeps_its_reservation(
    database: Database, holdings: FakeHoldings
) -> None:
    saving, resume = threading.Event(), threading.Event()

    def pause_the_save() -> None:
        saving.set()
        resume.wait(timeout=5)

    await database.transact(
        lambda c: c.connection.create_function("pause_the_save", 0, pause_the_save)
    )
    await database.transact(
        lambda c: c.execute(
            "CREATE TRIGGER pause BEFORE INSERT ON orders BEGIN SELECT pause_the_save(); END"
        )
    )
    call = asyncio.create_task(place(database, holdings))
    await asyncio.to_thread(saving.wait, 5)

    call.cancel()  # the gRPC server cancels the handler when its caller's deadline passes
    resume.set()
    with contextlib.suppress(asyncio.CancelledError):
        await call

    stored = await stored_orders(database)
    assert stored, "the transaction ran to its commit on the database thread"
    assert holdings.released == []


async def test_the_same_request_at_the_same_moment_waits_for_the_first_and_gets_its_order(
    database: Database, holdings: FakeHoldings, commits: Commits
) -> None:
    rival: list[asyncio.Task[Order]] = []

    async def the_same_request_arrives() -> None:
        holdings.during_reserve = None
        rival.append(asyncio.create_task(place(database, holdings)))
        await asyncio.sleep(0.1)  # it finds this placement under way and waits

    holdings.during_reserve = the_same_request_arrives

    first = await place(database, holdings)

    assert await rival[0] == first
    assert len(holdings.reserved) == 1
    assert commits.count == 1


async def test_a_request_id_reused_with_other_parameters_at_the_same_moment_is_refused(
    database: Database, holdings: FakeHoldings
) -> None:
    rival: list[asyncio.Task[Order]] = []

    async def rival_request_with_another_quantity() -> None:
        holdings.during_reserve = None
        rival.append(asyncio.create_task(place(database, holdings, quantity=99)))
        await asyncio.sleep(0.1)

    holdings.during_reserve = rival_request_with_another_quantity

    first = await place(database, holdings, quantity=10)

    with pytest.raises(IdempotencyKeyReused):
        await rival[0]
    assert first.quantity == 10
    assert holdings.released == [], "the first order is stored and keeps its shares"


# Reading orders.


async def test_an_unknown_order_is_not_found_with_its_id(database: Database) -> None:
    with pytest.raises(OrderNotFound) as missing:
        await handlers.get_order("no-such-order", database)

    assert missing.value.metadata == {"order_id": "no-such-order"}


async def test_an_empty_order_id_is_an_invalid_argument(database: Database) -> None:
    with pytest.raises(InvalidArgument):
        await handlers.get_order("", database)


async def test_an_account_lists_only_its_own_orders(
    database: Database, holdings: FakeHoldings
) -> None:
    first = await place(database, holdings, request_id="req-1")
    second = await place(database, holdings, request_id="req-2")
    await place(database, holdings, account_id="acc-bob")

    listed = (await handlers.list_orders("acc-alice", database)).orders

    assert {o.order_id for o in listed} == {first.order_id, second.order_id}


async def test_listing_orders_needs_an_account_id(database: Database) -> None:
    with pytest.raises(InvalidArgument):
        await handlers.list_orders("", database)


# Following an order's events.


@pytest.mark.parametrize(
    "events", list(itertools.permutations([placed, executed, fee_charged])), ids=event_names
)
async def test_a_filled_order_ends_filled_with_its_fee_whatever_order_events_arrive_in(
    database: Database, holdings: FakeHoldings, events: Sequence[Event]
) -> None:
    order = await order_after(database, holdings, events)

    assert order.status is OrderStatus.FILLED
    assert (order.price, order.proceeds, order.fee) == (PRICE, PROCEEDS, FEE)


@pytest.mark.parametrize(
    "events",
    list(itertools.permutations([placed, rejected, fee_charged, fee_refunded])),
    ids=event_names,
)
async def test_a_rejected_order_ends_rejected_with_no_fee_whatever_order_events_arrive_in(
    database: Database, holdings: FakeHoldings, events: Sequence[Event]
) -> None:
    order = await order_after(database, holdings, events)

    assert order.status is OrderStatus.REJECTED
    assert (order.reason, order.proceeds, order.fee) == ("SYMBOL_HALTED", 0, 0)


async def test_a_redelivered_event_adds_nothing_to_the_stored_history(
    database: Database, holdings: FakeHoldings
) -> None:
    order = await order_after(database, holdings, [placed, placed, fee_charged, fee_charged])

    assert [change.note for change in order.history] == [
        "order created",
        "placed on the exchange",
        f"fee charged: {FEE}",
    ]


@pytest.mark.parametrize("event", ALL_EVENTS)
async def test_an_event_for_an_unknown_order_is_a_fault_to_retry(
    database: Database, event: Event
) -> None:
    with pytest.raises(LookupError, match=ORDER_ID):
        await event(database)


async def test_orders_are_listed_a_page_at_a_time_until_the_token_runs_out(
    database: Database, holdings: FakeHoldings
) -> None:
    placed = [await place(database, holdings, request_id=f"req-{n}") for n in range(5)]

    pages: list[list[str]] = []
    token = ""
    while True:
        page = await handlers.list_orders("acc-alice", database, page_size=2, page_token=token)
        pages.append([o.order_id for o in page.orders])
        token = page.next_page_token
        if not token:
            break

    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(o for page in pages for o in page) == sorted(o.order_id for o in placed)


@pytest.mark.parametrize(
    ("page_size", "page_token", "field"),
    [
        (-1, "", "page_size"),
        (0, "not-a-token", "page_token"),
        (0, "%%%", "page_token"),
        (0, "W10", "page_token"),  # base64 of [], JSON but no cursor
        (0, "x" * 600, "page_token"),
    ],
)
async def test_a_bad_page_size_or_token_is_invalid_argument_naming_the_field(
    database: Database, page_size: int, page_token: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await handlers.list_orders("acc-alice", database, page_size, page_token)

    assert [v.field for v in refused.value.violations] == [field]


async def test_a_page_token_of_another_accounts_listing_is_refused(
    database: Database, holdings: FakeHoldings
) -> None:
    for n in range(2):
        await place(database, holdings, account_id="acc-bob", request_id=f"req-{n}")
    bobs = await handlers.list_orders("acc-bob", database, page_size=1)

    with pytest.raises(InvalidArgument) as refused:
        await handlers.list_orders("acc-alice", database, page_token=bobs.next_page_token)

    assert [v.field for v in refused.value.violations] == ["page_token"]


def test_page_size_defaults_to_50_and_is_clamped_at_200() -> None:
    assert (paging.page_size(0), paging.page_size(7), paging.page_size(10_000)) == (50, 7, 200)
