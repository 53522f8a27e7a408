"""The exchange's clock: executes booked orders once their delay has passed, crash-safe."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from mesh.background import BackgroundLoop
from mesh.storage.database import Database
from services.market import handlers, store
from services.market.domain import Exchange, Rejection
from tracing.messaging import continued_span, mark_failed

log = logging.getLogger(__name__)


# The longest the matcher sleeps: an order booked by another replica (whose own matcher died)
# is executed at most this late.
MAX_SLEEP_SECONDS = 5.0
# After a failed read (the database away), the next try.
RETRY_SECONDS = 1.0


class Matcher(BackgroundLoop):
    """Reads the book for due orders when the earliest falls due. Orders live in the database,
    not in memory, so a restart executes whatever was booked before it.

    With nothing open it sleeps until a commit of this process adds events (booking an order
    does) or `max_sleep` has passed, so an idle market reads the book once per `max_sleep`.
    With orders open it wakes when the earliest falls due: a booking made meanwhile is due
    later, since every order gets the same delay.
    """

    task_name = "matcher"

    def __init__(
        self,
        database: Database,
        exchange: Exchange,
        max_sleep: float = MAX_SLEEP_SECONDS,
    ) -> None:
        super().__init__()
        self._database = database
        self._exchange = exchange
        self._max_sleep = max_sleep
        self._booked = asyncio.Event()
        self._nothing_open = False
        database.on_events_committed(lambda _events: self._committed())

    def _committed(self) -> None:
        if self._nothing_open:
            self._booked.set()

    async def execute_due(self) -> tuple[int, float | None]:
        """Execute what is due; returns how many, and when the next booked order falls due.

        One read answers both (the next is the earliest of those not due yet), so executing
        one order costs that read and its own transaction, and an idle poll only the read.
        """
        now = time.time()
        count = 0
        due, next_at = await self._database.transact(
            lambda uow: (store.due(uow, now), store.next_due_at(uow, after=now))
        )
        for order in due:
            with continued_span("execute order", order.trace_context) as span:
                span.set_attribute("simplebank.order_id", order.order_id)
                outcome = await self._database.transact(
                    functools.partial(
                        handlers.execute_order, order, exchange=self._exchange, now=now
                    )
                )
                if isinstance(outcome, Rejection):
                    # The unhappy path is marked where it happened, so Jaeger shows it in red.
                    mark_failed(span, f"rejected: {outcome.reason}")
            count += outcome is not None
        if len(due) == store.DUE_BATCH:
            next_at = now  # a full batch: more may be due already
        return count, next_at

    async def run(self) -> None:
        while True:
            self._booked.clear()  # before reading: a booking from here on wakes the wait
            self._nothing_open = True
            try:
                _, next_at = await self.execute_due()
                self._nothing_open = next_at is None
            except Exception:
                log.exception("matching failed; retrying")
                next_at = time.time() + RETRY_SECONDS
            wait = self._max_sleep if next_at is None else next_at - time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._booked.wait(), timeout=min(max(wait, 0.005), self._max_sleep)
                )
