"""The placement sweeper keeps the pace of the deadlines it guards: it sleeps until the earliest
placement falls due (or its longest sleep), is woken sooner by a placement of this process due
earlier or left for it to end, and tries again soon while a give-back fails."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from mesh.errors.kinds import Unavailable
from mesh.storage.database import Database
from services.orders import store
from services.orders.domain import Placement
from services.orders.placements import Deadlines, PlacementSweeper, deadlines_of
from tests.support.data.events import eventually
from tests.unit.services.orders.fakes import FakeHoldings
from tests.unit.services.orders.test_handlers import place

# Not timing assertions: how long to wait for what must happen at once, and what never comes.
WITHIN_SECONDS = 5.0
NEVER_SECONDS = 3600.0


async def record(database: Database, placement: Placement) -> None:
    await database.transact(lambda c: store.begin_placement(c, placement))


async def test_the_next_sweep_is_when_the_earliest_recorded_placement_falls_due(
    database: Database, holdings: FakeHoldings
) -> None:
    now = time.time()
    await record(database, Placement("order-1", "attempt-1", give_back_after=now + 3))
    await record(database, Placement("order-2", "attempt-2", give_back_after=now + 2))
    sweeper = PlacementSweeper(database, holdings, longest=60)

    due, next_sweep = await sweeper._sweep()

    assert due == 0
    assert next_sweep == now + 2


async def test_with_nothing_recorded_the_sweeper_sleeps_its_longest(
    database: Database, holdings: FakeHoldings
) -> None:
    sweeper = PlacementSweeper(database, holdings, longest=60)
    before = time.time()

    _, next_sweep = await sweeper._sweep()

    assert before + 60 <= next_sweep <= time.time() + 60


async def test_a_give_back_that_fails_is_tried_again_after_the_retry_pause(
    database: Database, holdings: FakeHoldings
) -> None:
    await record(database, Placement("order-1", "attempt-1", give_back_after=time.time() - 1))
    holdings.release_refusal = Unavailable("accounts away")
    sweeper = PlacementSweeper(database, holdings, longest=60, retry=0.5)
    before = time.time()

    due, next_sweep = await sweeper._sweep()

    assert due == 1
    assert before + 0.5 <= next_sweep <= time.time() + 0.5


async def test_placing_an_order_tells_the_sweeper_when_the_placement_falls_due(
    database: Database, holdings: FakeHoldings
) -> None:
    deadlines = deadlines_of(database)
    deadlines.forget()
    seen: list[Placement] = []

    async def look_while_reserving() -> None:
        seen.extend(await database.transact(lambda c: store.due_placements(c, now=math.inf)))

    holdings.during_reserve = look_while_reserving

    await place(database, holdings)

    assert len(seen) == 1
    assert deadlines.next_due == seen[0].give_back_after


async def test_a_placement_left_for_the_sweeper_wakes_it_at_once(
    database: Database, holdings: FakeHoldings
) -> None:
    sweeper = PlacementSweeper(database, holdings, longest=NEVER_SECONDS, retry=0.05)
    await sweeper.start()
    try:
        await asyncio.sleep(0.1)  # it has swept an empty table and sleeps for an hour
        holdings.after_reserve = Unavailable("accounts went away")
        holdings.release_refusal = Unavailable("circuit open")
        with contextlib.suppress(Unavailable):
            await place(database, holdings)  # its give-back fails: left for the sweeper
        holdings.release_refusal = None

        async def given_back() -> bool:
            return holdings.released_attempts == holdings.attempts

        await eventually(given_back, WITHIN_SECONDS, "the sweeper giving the shares back")
    finally:
        await sweeper.stop()


async def test_an_earlier_deadline_shortens_a_sleep_and_a_later_one_does_not() -> None:
    deadlines = Deadlines()
    sleeping = asyncio.create_task(deadlines.sleep_until(time.time() + NEVER_SECONDS))
    await asyncio.sleep(0.05)

    deadlines.announce(time.time() + NEVER_SECONDS * 2)
    await asyncio.sleep(0.05)
    assert not sleeping.done()

    deadlines.announce(time.time() + 0.05)
    await asyncio.wait_for(sleeping, WITHIN_SECONDS)
