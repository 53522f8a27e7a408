"""Two replicas of a service on one PostgreSQL database, each with its own pool, working at once:
no update is lost, a booked order executes once, an event is applied once, two batches lock
their rows in one order and never deadlock, and one replica at a time leads the outbox relay."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from operator import attrgetter
from pathlib import Path

import nats
import pytest

from mesh.events.bus import EventBus
from mesh.events.codec import EventCodec
from mesh.events.consumer import EventConsumer, Subscription
from mesh.events.outbox import RELAY_ROLE
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services import events
from services.accounts import handlers as accounts_handlers
from services.accounts import store as accounts
from services.market import handlers as market_handlers
from services.market import store as market
from services.market.domain import Exchange
from services.market.messages import CODEC as MARKET_CODEC
from tests.support.data.events import (
    CODEC,
    SCHEMA,
    OrderCreated,
    applied,
    delivered,
    order_created,
)
from tests.support.data.events import record_order as apply_order
from tests.support.servers.nats import run_nats
from tests.support.servers.postgres import fresh_databases
from tests.unit.databases import open_at, outbox_ids
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration

FEE = 290
ROUNDS = 10


async def replicas(
    stack: AsyncExitStack, url: str, schema: str, codec: EventCodec | None = None
) -> list[Database]:
    """Two Databases on one PostgreSQL database, as two replicas of a service open it."""
    return [await stack.enter_async_context(open_at(url, schema, codec)) for _ in range(2)]


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def test_fees_debited_by_two_replicas_at_once_are_all_kept(
    postgres: LocalPostgres, stack: AsyncExitStack
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    first, second = await replicas(stack, url, accounts.SCHEMA)
    await first.transact(accounts.seed_if_empty)

    def debit(n: int, uow: UnitOfWork) -> None:
        accounts_handlers.debit_fee(events.FeeCharged(f"o-{n}", "acc-alice", FEE), uow)

    await asyncio.gather(
        *(first.transact(functools.partial(debit, n)) for n in range(ROUNDS)),
        *(second.transact(functools.partial(debit, ROUNDS + n)) for n in range(ROUNDS)),
    )

    alice = await first.transact(lambda u: accounts.get_account(u, "acc-alice"))
    total = await first.transact(lambda u: u.execute("SELECT SUM(amount) FROM ledger").fetchone())
    assert alice is not None
    assert alice.cash == 1_000_000 - 2 * ROUNDS * FEE
    assert total[0] == 0


async def test_a_due_order_executed_by_two_replicas_at_once_executes_once(
    postgres: LocalPostgres, stack: AsyncExitStack
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    first, second = await replicas(stack, url, market.SCHEMA, MARKET_CODEC)
    booked = market.BookedOrder("o-1", "acc-alice", "AAPL", 10, {})
    await first.transact(lambda u: market.add(u, booked, execute_after=0.0))
    execute = functools.partial(
        market_handlers.execute_order, booked, exchange=Exchange(), now=1_736_155_800.0
    )

    outcomes = await asyncio.gather(first.transact(execute), second.transact(execute))

    assert sum(outcome is not None for outcome in outcomes) == 1
    assert await outbox_ids(first) == ["o-1/OrderExecuted"]


async def test_an_event_delivered_to_two_replicas_at_once_is_applied_once(
    postgres: LocalPostgres, stack: AsyncExitStack
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    databases = await replicas(stack, url, SCHEMA, CODEC)
    consumers = [
        EventConsumer(
            "svc", [Subscription(OrderCreated, apply_order)], db, EventBus("", "svc"), CODEC
        )
        for db in databases
    ]
    event = order_created("o-1")

    results = await asyncio.gather(
        *(
            database.transact(
                functools.partial(
                    c._apply,
                    event_id="o-1/OrderCreated",
                    event=event,
                    route=next(iter(c._routes.values())),  # its one subscription's
                )
            )
            for c, database in zip(consumers, databases, strict=True)
            for _ in range(3)
        )
    )

    assert sorted(results) == [False] * 5 + [True]
    assert await applied(databases[0], "o-1") == 1


# Long enough for both replicas to hold their first row before either asks for its second.
HOLD_SECONDS = 0.3


async def test_two_replicas_batches_lock_their_rows_in_one_order_and_never_deadlock(
    postgres: LocalPostgres, stack: AsyncExitStack, tmp_path: Path
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    rows = "CREATE TABLE IF NOT EXISTS counted (order_id TEXT PRIMARY KEY, n INTEGER NOT NULL);"
    databases = await replicas(stack, url, SCHEMA + rows, CODEC)
    await databases[0].transact(
        lambda u: u.executemany(
            "INSERT INTO counted (order_id, n) VALUES (?, 0)", [("o-1",), ("o-2",)]
        )
    )
    runs: list[str] = []

    def count(event: OrderCreated, uow: UnitOfWork) -> None:
        """Locks the order's row, then holds it: the way every handler changes one order."""
        runs.append(event.order_id)
        uow.lock("SELECT n FROM counted WHERE order_id = ?", (event.order_id,))
        uow.execute("UPDATE counted SET n = n + 1 WHERE order_id = ?", (event.order_id,))
        time.sleep(HOLD_SECONDS)

    consumers = [
        EventConsumer(
            "svc",
            [Subscription(OrderCreated, count)],
            database,
            EventBus("", "svc"),
            CODEC,
            lock_order=attrgetter("order_id"),
        )
        for database in databases
    ]
    with run_nats(tmp_path) as server:
        client = await nats.connect(server.url)
        acks = await client.subscribe("ack.>")
        batches = [  # the same two rows, fetched in opposite orders by the two replicas
            [delivered(client, f"e-{n}", order_created(o), f"ack.{n}") for n, o in pairs]
            for pairs in ([(1, "o-1"), (2, "o-2")], [(3, "o-2"), (4, "o-1")])
        ]

        await asyncio.gather(
            *(c.process_batch(batch) for c, batch in zip(consumers, batches, strict=True))
        )

        acked = sorted([(await acks.next_msg(timeout=5)).subject for _ in range(4)])
        await client.close()
    assert len(runs) == 4, f"a transaction was aborted and run again (a deadlock): {runs}"
    counted = await databases[0].transact(
        lambda u: u.execute("SELECT order_id, n FROM counted ORDER BY order_id").fetchall()
    )
    assert [tuple(row) for row in counted] == [("o-1", 2), ("o-2", 2)]
    assert acked == ["ack.1", "ack.2", "ack.3", "ack.4"]


async def test_one_replica_leads_the_relay_until_it_stops_then_the_other_takes_over(
    postgres: LocalPostgres,
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    async with open_at(url, SCHEMA, CODEC) as second:
        async with open_at(url, SCHEMA, CODEC) as first:
            assert await first.leads(RELAY_ROLE)
            assert await first.leads(RELAY_ROLE)  # still, and only once
            assert not await second.leads(RELAY_ROLE)
        # first stopped: its session ends, and with it the lock (the server notices soon after)
        for _ in range(100):
            if await second.leads(RELAY_ROLE):
                break
            await asyncio.sleep(0.05)
        assert await second.leads(RELAY_ROLE)
