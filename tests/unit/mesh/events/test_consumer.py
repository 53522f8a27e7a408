"""A consumer's pull waits on the server for a long expiry (one request per expiry when idle),
and is given up at once when the connection to NATS is made again: the pull waited on the
server the connection left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mesh.events.bus import EventBus
from mesh.events.consumer import FETCH_SECONDS, EventConsumer, Subscription
from mesh.storage.database import Database
from tests.support.data.events import CODEC, OrderCreated, record_order, service_database

WITHIN_SECONDS = 5.0


class Reconnecting(EventBus):
    """A bus whose connection is made again when the test says so."""

    def __init__(self) -> None:
        super().__init__("nats://127.0.0.1:1", "svc")
        self.again = asyncio.Event()

    async def reconnected(self) -> None:
        await self.again.wait()


class WaitingPull:
    """A pull subscription whose fetch waits out its whole expiry: nothing comes."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, float]] = []
        self.cancelled = 0

    async def fetch(self, batch: int, expiry: float) -> list[Any]:
        self.asked.append((batch, expiry))
        try:
            await asyncio.sleep(expiry)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise TimeoutError


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with service_database(tmp_path / "service.sqlite3") as opened:
        yield opened


def consumer(database: Database, bus: EventBus) -> EventConsumer:
    return EventConsumer("svc", [Subscription(OrderCreated, record_order)], database, bus, CODEC)


async def test_a_pull_waits_on_the_server_for_the_long_expiry(database: Database) -> None:
    pull = WaitingPull()
    fetching = asyncio.create_task(consumer(database, Reconnecting())._fetch(pull))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)

    assert pull.asked == [(32, FETCH_SECONDS)]
    assert FETCH_SECONDS >= 10
    fetching.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fetching
    assert pull.cancelled == 1, "cancelling the consumer ends its pull"


async def test_a_pull_is_given_up_when_the_connection_is_made_again(database: Database) -> None:
    bus, pull = Reconnecting(), WaitingPull()
    fetching = asyncio.create_task(consumer(database, bus)._fetch(pull))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)

    bus.again.set()

    assert await asyncio.wait_for(fetching, WITHIN_SECONDS) == []
    assert pull.cancelled == 1
