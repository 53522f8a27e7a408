"""A background loop stops when the service stops, even if a cancellation is swallowed on the
way (Python 3.11's asyncio.wait_for does that when what it waits for finishes at that moment)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mesh.background import BackgroundLoop
from mesh.events.bus import EventBus
from mesh.events.outbox import OutboxRelay
from tests.support.data.events import eventually, service_database

# Not a timing assertion: how long to wait before calling a stop that has not returned hung.
HUNG_AFTER_SECONDS = 10.0


async def stops(loop: BackgroundLoop, task: asyncio.Task[None]) -> bool:
    """Whether `loop.stop()` returns; a hung loop is cancelled for good here, so no task leaks."""
    stopping = asyncio.ensure_future(loop.stop())
    done, _ = await asyncio.wait([stopping], timeout=HUNG_AFTER_SECONDS)
    while not stopping.done():
        task.cancel()
        await asyncio.wait([stopping], timeout=1.0)
    return bool(done)


class SwallowsOneCancellation(BackgroundLoop):
    """Does what a library call can: takes a cancellation as an ordinary wake-up, once."""

    async def run(self) -> None:
        swallowed = False
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True


async def test_a_loop_that_swallows_a_cancellation_still_stops() -> None:
    loop = SwallowsOneCancellation()
    await loop.start()
    await asyncio.sleep(0)
    task = loop._task
    assert task is not None
    assert await stops(loop, task)
    assert task.done()


async def test_the_relay_woken_by_a_commit_just_as_it_stops_still_stops(tmp_path: Path) -> None:
    async with service_database(tmp_path / "service.sqlite3") as database:
        # The outbox is empty: the relay never reaches the bus, which is never started.
        relay = OutboxRelay(database, EventBus("nats://127.0.0.1:4222", "svc"), poll_interval=60)
        await relay.start()
        task = relay._task
        assert task is not None

        # Waiting to be woken: it has done its first round (an empty outbox, nothing
        # published) and cleared the wake-up it now waits on.
        relay._wake.set()

        async def waits_to_be_woken() -> bool:
            return not relay._wake.is_set() and not task.done()

        await eventually(waits_to_be_woken, HUNG_AFTER_SECONDS, "the relay waiting to be woken")
        relay._wake.set()  # as the database does after a commit that added events
        assert await stops(relay, task)
        assert task.done()
