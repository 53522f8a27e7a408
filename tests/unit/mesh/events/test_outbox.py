"""The outbox relay is idle until woken: a commit wakes it, even one made while it was
publishing; what it published is deleted by its next read, or on its own a moment later, or
when it stops; a replica that does not lead relays nothing and asks for the lead again at its
takeover pace; on SQLite no listener runs beside it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from mesh.events import outbox
from mesh.events.bus import EventBus
from mesh.events.outbox import Outbox, OutboxRelay, pending_count
from mesh.storage.database import Database
from tests.support.data.events import (
    CODEC,
    SCHEMA,
    eventually,
    order_created,
    running,
    service_database,
    store_event,
)

# Far beyond every wait below: only a wake-up (or the takeover pace) can make the relay look.
POLL_SECONDS = 3600.0
WITHIN_SECONDS = 5.0


class RecordingBus(EventBus):
    """JetStream as the relay sees it: every publish is acknowledged and recorded; `during`
    runs inside the first publish."""

    def __init__(self) -> None:
        super().__init__("nats://127.0.0.1:1", "svc")
        self.published: list[str] = []
        self.during: list[object] = []

    async def publish(self, subject: str, payload: bytes, headers: Mapping[str, str]) -> None:
        self.published.append(headers["Nats-Msg-Id"])
        while self.during:
            work = self.during.pop()
            assert asyncio.iscoroutine(work)
            await work


class Follower(Database):
    """A replica's database that leads only once told to."""

    leading = False

    async def leads(self, role: str) -> bool:
        return self.leading


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with service_database(tmp_path / "service.sqlite3") as opened:
        yield opened


async def test_an_event_committed_while_the_relay_publishes_is_published_without_a_poll(
    database: Database,
) -> None:
    bus = RecordingBus()
    bus.during.append(store_event(database, "o-2/OrderCreated", order_created("o-2")))
    await store_event(database, "o-1/OrderCreated", order_created("o-1"))

    async with running(OutboxRelay(database, bus, poll_interval=POLL_SECONDS)):

        async def both_published() -> bool:
            return bus.published == ["o-1/OrderCreated", "o-2/OrderCreated"]

        await eventually(both_published, WITHIN_SECONDS, "the second event published")


async def test_published_rows_are_deleted_by_the_next_read_and_when_the_relay_stops(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "FORGET_AFTER_SECONDS", POLL_SECONDS)  # no delete on its own
    bus = RecordingBus()
    await store_event(database, "o-1/OrderCreated", order_created("o-1"))
    relay = OutboxRelay(database, bus, poll_interval=POLL_SECONDS)
    async with running(relay):

        async def published(count: int) -> bool:
            return len(bus.published) == count

        await eventually(lambda: published(1), WITHIN_SECONDS, "the first event published")
        assert await database.transact(pending_count) == 1  # published, not deleted yet
        await store_event(database, "o-2/OrderCreated", order_created("o-2"))
        await eventually(lambda: published(2), WITHIN_SECONDS, "the second event published")
        remaining = await database.transact(
            lambda u: [row[0] for row in u.execute("SELECT event_id FROM outbox")]
        )
        assert remaining == ["o-2/OrderCreated"]  # the first went with the second's read

    assert await database.transact(pending_count) == 0  # stopping deleted the second


async def test_a_relay_that_does_not_lead_publishes_nothing_until_it_takes_the_lead(
    tmp_path: Path,
) -> None:
    follower = Follower(tmp_path / "service.sqlite3", SCHEMA, Outbox(CODEC))
    await follower.start()
    try:
        bus = RecordingBus()
        relay = OutboxRelay(follower, bus, poll_interval=POLL_SECONDS, takeover=0.05)
        async with running(relay):
            await store_event(follower, "o-1/OrderCreated", order_created("o-1"))
            await asyncio.sleep(0.2)  # woken by the commit, and by several takeover tries
            assert bus.published == []

            follower.leading = True  # the leader's session ended

            async def published() -> bool:
                return bus.published == ["o-1/OrderCreated"]

            await eventually(published, WITHIN_SECONDS, "the new leader relaying")

            async def deleted() -> bool:
                return await follower.transact(pending_count) == 0

            await eventually(deleted, WITHIN_SECONDS, "the published row deleted")
    finally:
        await follower.stop()


async def test_on_sqlite_hearing_other_commits_waits_until_cancelled(database: Database) -> None:
    hearing = asyncio.create_task(database.hear_events_committed(lambda: None))
    await asyncio.sleep(0.05)
    assert not hearing.done()
    hearing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hearing
