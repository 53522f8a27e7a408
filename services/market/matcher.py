"""The exchange's clock: executes booked orders once their delay has passed, crash-safe."""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from mesh.background import BackgroundLoop
from mesh.storage.database import Database
from services.market import handlers, store
from services.market.domain import Exchange, Rejection
from tracing.messaging import continued_span, mark_failed

log = logging.getLogger(__name__)


class Matcher(BackgroundLoop):
    """Polls the book for due orders. Orders live in SQLite, not in memory, so a restart
    executes whatever was booked before it."""

    task_name = "matcher"

    def __init__(
        self,
        database: Database,
        exchange: Exchange,
        max_sleep: float = 0.1,
    ) -> None:
        super().__init__()
        self._database = database
        self._exchange = exchange
        self._max_sleep = max_sleep

    async def execute_due(self) -> tuple[int, float | None]:
        """Execute what is due; returns how many, and when the next booked order falls due.

        One read answers both, so an idle poll costs one transaction.
        """
        now = time.time()
        count = 0
        due, next_at = await self._database.transact(
            lambda uow: (store.due(uow, now), store.next_due_at(uow))
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
        if count:
            next_at = now  # what it read included these; look again at once
        return count, next_at

    async def run(self) -> None:
        while True:
            try:
                _, next_at = await self.execute_due()
            except Exception:
                log.exception("matching failed; retrying")
                next_at = None
            wait = self._max_sleep if next_at is None else next_at - time.time()
            await asyncio.sleep(min(max(wait, 0.005), self._max_sleep))
