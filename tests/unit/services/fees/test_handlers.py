"""Unit tests for the fees handlers: each order charged at most one net fee, with its events in
the outbox of a real SQLite database."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mesh.convert import money
from mesh.errors.kinds import InvalidArgument
from mesh.storage.database import Database
from services import events
from services.fees import handlers, store
from services.fees.domain import FeeSchedule, FeeState, OrderFee
from services.fees.messages import CODEC
from simplebank.events.v1 import events_pb2
from tests.unit.databases import deliver, open_database, outbox_events, outbox_ids

AT = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)

SCHEDULE = FeeSchedule(flat=100, basis_points=10)
NOTIONAL = 1_900_000
FEE = 100 + 1_900  # flat, plus ten basis points of the notional


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path, store.SCHEMA, CODEC) as database:
        yield database


async def placed(database: Database, notional: int = NOTIONAL) -> None:
    event = events.OrderPlaced("o-1", "acc-alice", "AAPL", 10, notional, AT)
    charge = functools.partial(handlers.charge_placed_order, schedule=SCHEDULE)
    await deliver(database, charge, event)


async def rejected(database: Database) -> None:
    event = events.OrderRejected("o-1", "acc-alice", "AAPL", 10, "SYMBOL_HALTED", AT)
    await deliver(database, handlers.refund_rejected_order, event)


async def fee_of_order(database: Database) -> OrderFee:
    return await database.transact(lambda c: store.locked(c, "o-1", "acc-alice"))


async def test_a_placed_order_is_charged_its_fee_with_one_fee_charged_event(
    database: Database,
) -> None:
    await placed(database)

    assert await outbox_ids(database) == ["o-1/FeeCharged"]
    assert await outbox_events(database, events_pb2.FeeCharged) == [
        events_pb2.FeeCharged(order_id="o-1", account_id="acc-alice", fee=money(FEE))
    ]
    assert await fee_of_order(database) == OrderFee("o-1", "acc-alice", FEE, FeeState.CHARGED)


async def test_a_redelivered_order_placed_charges_nothing_more(database: Database) -> None:
    await placed(database)
    await placed(database, notional=2 * NOTIONAL)

    assert len(await outbox_events(database, events_pb2.FeeCharged)) == 1
    assert (await fee_of_order(database)).amount == FEE


async def test_a_rejected_order_gets_back_exactly_the_fee_it_was_charged(
    database: Database,
) -> None:
    await placed(database)
    await rejected(database)

    assert await outbox_ids(database) == ["o-1/FeeCharged", "o-1/FeeRefunded"]
    assert await outbox_events(database, events_pb2.FeeRefunded) == [
        events_pb2.FeeRefunded(order_id="o-1", account_id="acc-alice", fee=money(FEE))
    ]
    assert (await fee_of_order(database)).net == 0


async def test_a_redelivered_order_rejected_refunds_once(database: Database) -> None:
    await placed(database)
    await rejected(database)
    await rejected(database)

    assert len(await outbox_events(database, events_pb2.FeeRefunded)) == 1


async def test_an_order_rejected_before_it_was_placed_is_never_charged(
    database: Database,
) -> None:
    await rejected(database)
    await placed(database)

    assert await outbox_ids(database) == []
    assert await fee_of_order(database) == OrderFee("o-1", "acc-alice", 0, FeeState.WAIVED)


def test_a_quote_is_the_schedules_fee_for_the_notional() -> None:
    assert handlers.quote_fee(NOTIONAL, SCHEDULE) == FEE
    assert handlers.quote_fee(0, SCHEDULE) == SCHEDULE.flat


def test_a_quote_for_a_negative_notional_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument) as refused:
        handlers.quote_fee(-1, SCHEDULE)

    assert [v.field for v in refused.value.violations] == ["notional"]
