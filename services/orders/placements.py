"""Placements given up on: the shares their reserve attempt may hold go back to the account.

An attempt is given up when the answer of its reserve call was lost, its save failed, or its
process died between reserve and save. Which of those happened does not matter, nor whether
accounts ran the reserve yet: `give_back` claims the attempt in orders' database (so its save
can no longer store the order), then asks accounts to release it by its attempt id (accounts
refuses that attempt from then on, so a reserve still on its way holds nothing), then forgets
it. Any replica may do it, twice even; the sweeper does it for attempts nobody is left to end.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Protocol

from mesh.background import BackgroundLoop
from mesh.calls.deadline import remaining
from mesh.storage.database import Database
from services.orders import store
from services.orders.domain import Placement

log = logging.getLogger(__name__)

# How long an attempt with no deadline may take before the sweeper gives it back; one with a
# deadline gets what is left of it. The grace covers the save's commit after the deadline.
UNBOUNDED_SECONDS = 30.0
GRACE_SECONDS = 2.0
SWEEP_SECONDS = 1.0


class Releaser(Protocol):
    async def release(self, order_id: str, attempt_id: str) -> None: ...


def new_placement(order_id: str) -> Placement:
    """A new attempt at placing `order_id`, due for giving back once its caller is gone."""
    left = remaining()
    budget = UNBOUNDED_SECONDS if left is None else max(left, 0.0)
    return Placement(order_id, uuid.uuid4().hex, time.time() + budget + GRACE_SECONDS)


async def give_back(placement: Placement, database: Database, holdings: Releaser) -> None:
    """Release what the attempt holds unless its order was stored; safe to repeat anywhere."""
    if not await database.transact(lambda uow: store.abandon_placement(uow, placement)):
        return  # the save stored its order (and took the row), or it was given back already
    await holdings.release(placement.order_id, placement.attempt_id)
    await database.transact(lambda uow: store.drop_placement(uow, placement))
    log.info(
        "shares given back for an order that was not stored",
        extra={"order_id": placement.order_id, "attempt_id": placement.attempt_id},
    )


class PlacementSweeper(BackgroundLoop):
    """Gives back the placements that are abandoned or overdue: those whose own handler could
    not (accounts or the database away at the time) or died (a replica killed mid-call)."""

    task_name = "placement sweeper"

    def __init__(
        self, database: Database, holdings: Releaser, interval: float = SWEEP_SECONDS
    ) -> None:
        super().__init__()
        self._database = database
        self._holdings = holdings
        self._interval = interval

    async def sweep(self) -> int:
        """Give back every due placement; returns how many were due."""
        now = time.time()
        due = await self._database.transact(lambda uow: store.due_placements(uow, now))
        for placement in due:
            try:
                await give_back(placement, self._database, self._holdings)
            except Exception:
                log.warning(
                    "could not give back the shares of an abandoned placement yet; will retry",
                    extra={"order_id": placement.order_id},
                    exc_info=True,
                )
        return len(due)

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sweeping placements failed; retrying")
            await asyncio.sleep(self._interval)
