"""Commits heard across connections on a real PostgreSQL: a replica's commit wakes the relay of
the replica that leads, long before its poll would, and the listener hears again after the
server restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from mesh.events.outbox import OutboxRelay
from mesh.storage.database import Database
from mesh.storage.notify import OUTBOX_CHANNEL, CommitListener
from mesh.storage.unit_of_work import DatabaseUnavailable
from tests.support.data.events import (
    ORDER_CREATED,
    connected_bus,
    eventually,
    order_created,
    running,
    service_database,
    store_event,
    stream_count,
)
from tests.support.servers.nats import NatsServer, run_nats
from tests.support.servers.postgres import fresh_databases, run_postgres
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration

# Far beyond every wait below: only a notification can wake the relay in time.
POLL_SECONDS = 600.0
WITHIN_SECONDS = 10.0
SETTLE_SECONDS = 0.2


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with run_nats(tmp_path) as server:
        yield server


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def listening(database: Database) -> bool:
    """Whether a session of the database waits in LISTEN (a listener is connected); False while
    the server is away."""
    try:
        count = await database.transact(
            lambda c: c.execute(
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            ).fetchone()[0]
        )
    except DatabaseUnavailable:
        return False
    return int(count) > 0


async def test_a_commit_of_one_replica_wakes_the_relay_of_the_other_that_leads(
    postgres: LocalPostgres, nats_server: NatsServer, stack: AsyncExitStack
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    leader = await stack.enter_async_context(service_database(url))
    other = await stack.enter_async_context(service_database(url))
    bus = await stack.enter_async_context(connected_bus(nats_server.url, "svc"))
    js = await bus.jetstream()
    relay = OutboxRelay(leader, bus, poll_interval=POLL_SECONDS)
    await stack.enter_async_context(running(relay))

    async def published(count: int) -> bool:
        return await stream_count(js, ORDER_CREATED) == count

    await store_event(leader, "o-1/OrderCreated", order_created("o-1"))
    await eventually(lambda: published(1), WITHIN_SECONDS, "the leader's own event published")
    await eventually(lambda: listening(leader), WITHIN_SECONDS, "the relay listening")

    # Now the relay waits for a wake-up, or for its poll ten minutes away.
    await store_event(other, "o-2/OrderCreated", order_created("o-2"))

    await eventually(lambda: published(2), WITHIN_SECONDS, "the other replica's event published")


async def test_the_listener_hears_commits_again_after_postgresql_restarts() -> None:
    with run_postgres() as server:  # a server of its own: the session's others keep theirs
        url = fresh_databases(server, ("svc",))["svc"]
        async with service_database(url) as database:
            heard: list[float] = []
            listener = CommitListener(url, OUTBOX_CHANNEL, lambda: heard.append(1.0), 0.2)
            listening_task = asyncio.create_task(listener.run())
            try:
                await hears_a_commit(database, heard, "before the restart")
                await asyncio.to_thread(server.restart)
                await hears_a_commit(database, heard, "after the restart")
            finally:
                listening_task.cancel()
                await asyncio.gather(listening_task, return_exceptions=True)


async def hears_a_commit(database: Database, heard: list[float], when: str) -> None:
    """Once the listener is connected (and has woken its owner for what it may have missed),
    a commit through another connection is heard."""
    await eventually(lambda: listening(database), WITHIN_SECONDS, f"the listener back {when}")
    await asyncio.sleep(SETTLE_SECONDS)  # the wake-up that comes with connecting has come
    before = len(heard)
    event_id = f"{when.replace(' ', '-')}/OrderCreated"
    await store_event(database, event_id, order_created(event_id))
    await eventually(lambda: at_least(heard, before + 1), WITHIN_SECONDS, f"a commit {when}")


async def at_least(heard: list[float], count: int) -> bool:
    return len(heard) >= count
