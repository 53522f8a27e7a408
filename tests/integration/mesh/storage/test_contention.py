"""Two replicas writing the same rows at once on one PostgreSQL database, READ COMMITTED: writes
to one account, one order or one fee queue on its row lock, none is run again, and none is lost;
a reserve and a release of one attempt meet on the attempt's row whichever comes first; a read
sees one snapshot and cannot write, and leaves its connection as it found it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import psycopg
import pytest

from mesh.events.codec import EventCodec
from mesh.storage import postgres as postgres_engine
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services import events
from services.accounts import handlers as accounts_handlers
from services.accounts import store as accounts
from services.accounts.domain import ReservationReleased, ReservationState
from services.fees import handlers as fees_handlers
from services.fees import store as fees
from services.fees.domain import FeeSchedule, FeeState
from services.fees.messages import CODEC as FEES_CODEC
from services.orders import handlers as orders_handlers
from services.orders import store as orders
from services.orders.domain import Order, OrderStatus
from tests.support.servers.postgres import fresh_databases
from tests.unit.databases import open_at, outbox_ids
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration

ROUNDS = 20
AT = datetime(2026, 1, 6, 9, 30, tzinfo=UTC)


class Counted:
    """Stands in for the retries counter (an OpenTelemetry instrument) to read what was added."""

    def __init__(self) -> None:
        self.total = 0

    def add(self, amount: int, attributes: object = None) -> None:
        self.total += amount


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> Counted:
    counted = Counted()
    monkeypatch.setattr(postgres_engine, "_RETRIES", counted)
    return counted


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def two_replicas(
    stack: AsyncExitStack, postgres: LocalPostgres, schema: str, codec: EventCodec | None = None
) -> tuple[Database, Database]:
    url = fresh_databases(postgres, ("svc",))["svc"]
    first = await stack.enter_async_context(open_at(url, schema, codec))
    second = await stack.enter_async_context(open_at(url, schema, codec))
    return first, second


async def test_reserves_on_one_hot_position_queue_and_none_runs_again(
    postgres: LocalPostgres, stack: AsyncExitStack, retries: Counted
) -> None:
    first, second = await two_replicas(stack, postgres, accounts.SCHEMA)
    await first.transact(accounts.seed_if_empty)

    def reserve(n: int) -> accounts_handlers.ReserveHoldings:
        return accounts_handlers.ReserveHoldings(f"o-{n}", "acc-alice", "AAPL", 1, f"a-{n}")

    await asyncio.gather(
        *(
            accounts_handlers.reserve_holdings(reserve(n), (first, second)[n % 2])
            for n in range(2 * ROUNDS)
        )
    )

    alice = await first.read(lambda u: accounts.get_account(u, "acc-alice"))
    assert alice is not None
    assert alice.positions["AAPL"].reserved == 2 * ROUNDS
    assert retries.total == 0


async def test_a_reserve_and_a_release_of_one_attempt_at_once_never_leave_shares_held_for_it(
    postgres: LocalPostgres, stack: AsyncExitStack
) -> None:
    first, second = await two_replicas(stack, postgres, accounts.SCHEMA)
    await first.transact(accounts.seed_if_empty)

    async def reserve(n: int) -> None:
        cmd = accounts_handlers.ReserveHoldings(f"o-{n}", "acc-alice", "AAPL", 1, f"a-{n}")
        with contextlib.suppress(ReservationReleased):  # the release came first: refused
            await accounts_handlers.reserve_holdings(cmd, first)

    await asyncio.gather(
        *(reserve(n) for n in range(ROUNDS)),
        *(accounts_handlers.release_holdings(f"o-{n}", f"a-{n}", second) for n in range(ROUNDS)),
    )

    def held(u: UnitOfWork) -> tuple[int, int]:
        reservations = [accounts.get_reservation(u, f"o-{n}") for n in range(ROUNDS)]
        alice = accounts.get_account(u, "acc-alice")
        assert alice is not None
        holding = sum(r is not None and r.state is ReservationState.HELD for r in reservations)
        return holding, alice.positions["AAPL"].reserved

    # Every attempt was released, before or after its reserve: nothing may stay held for it.
    assert await first.read(held) == (0, 0)


async def test_a_charge_and_a_refund_of_one_fee_at_once_agree_with_their_events(
    postgres: LocalPostgres, stack: AsyncExitStack
) -> None:
    first, second = await two_replicas(stack, postgres, fees.SCHEMA, FEES_CODEC)
    schedule = FeeSchedule()

    def charge(n: int, uow: UnitOfWork) -> None:
        placed = events.OrderPlaced(f"o-{n}", "acc-alice", "AAPL", 1, 100_000, AT)
        fees_handlers.charge_placed_order(placed, uow, schedule)

    def refund(n: int, uow: UnitOfWork) -> None:
        rejected = events.OrderRejected(f"o-{n}", "acc-alice", "AAPL", 1, "SYMBOL_HALTED", AT)
        fees_handlers.refund_rejected_order(rejected, uow)

    await asyncio.gather(
        *(first.transact(functools.partial(charge, n)) for n in range(ROUNDS)),
        *(second.transact(functools.partial(refund, n)) for n in range(ROUNDS)),
    )

    published = set(await outbox_ids(first))
    states = dict(
        await first.read(lambda u: u.execute("SELECT order_id, state FROM order_fees").fetchall())
    )
    for n in range(ROUNDS):
        charged = f"o-{n}/FeeCharged" in published
        refunded = f"o-{n}/FeeRefunded" in published
        # Charged then refunded, or waived before any charge: never charged and left charged.
        assert (FeeState(states[f"o-{n}"]), charged, refunded) in (
            (FeeState.REFUNDED, True, True),
            (FeeState.WAIVED, False, False),
        ), f"o-{n}"


async def test_events_of_one_order_applied_at_once_by_two_replicas_are_all_kept(
    postgres: LocalPostgres, stack: AsyncExitStack, retries: Counted
) -> None:
    first, second = await two_replicas(stack, postgres, orders.SCHEMA)
    ids = [f"o-{n}" for n in range(ROUNDS)]
    for order_id in ids:
        await first.transact(
            functools.partial(orders.save, order=Order.new(order_id, "acc-alice", "AAPL", 1, AT))
        )

    def placed(order_id: str, uow: UnitOfWork) -> None:
        event = events.OrderPlaced(order_id, "acc-alice", "AAPL", 1, 100_000, AT)
        orders_handlers.mark_order_placed(event, uow)

    def fee(order_id: str, uow: UnitOfWork) -> None:
        orders_handlers.record_fee(events.FeeCharged(order_id, "acc-alice", 290), uow)

    await asyncio.gather(
        *(first.transact(functools.partial(placed, order_id)) for order_id in ids),
        *(second.transact(functools.partial(fee, order_id)) for order_id in ids),
    )

    for order_id in ids:
        order = await first.read(functools.partial(orders.get, order_id=order_id))
        assert order is not None
        assert (order.status, order.fee) == (OrderStatus.PLACED, 290), order_id
    assert retries.total == 0


async def test_a_read_cannot_write(postgres: LocalPostgres, stack: AsyncExitStack) -> None:
    first, _ = await two_replicas(stack, postgres, accounts.SCHEMA)

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await first.read(accounts.seed_if_empty)


def isolation(uow: UnitOfWork) -> tuple[str, str]:
    return (
        uow.execute("SHOW transaction_isolation").fetchone()[0],
        uow.execute("SHOW transaction_read_only").fetchone()[0],
    )


async def test_a_read_is_one_snapshot_and_every_connection_writes_read_committed_after_it(
    postgres: LocalPostgres, stack: AsyncExitStack
) -> None:
    first, _ = await two_replicas(stack, postgres, accounts.SCHEMA)
    rounds = 2 * postgres_engine.POOL_SIZE  # the pool hands its connections out in turn

    reads = [await first.read(isolation) for _ in range(rounds)]
    writes = [await first.transact(isolation) for _ in range(rounds)]

    assert set(reads) == {("repeatable read", "on")}
    assert set(writes) == {("read committed", "off")}
