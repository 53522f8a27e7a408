"""grpc.health.v1 with a status that follows the service's own checks of its dependencies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from mesh.errors import kinds
from mesh.errors.refusals import abort_with

log = logging.getLogger(__name__)

# Watch streams are unauthenticated (probes have no token) and each holds memory for as long as
# its client keeps it open: at most this many at once per server, the next refused.
MAX_WATCHES = 100
WATCH_RETRY_AFTER_SECONDS = 5.0

# How often the checks run: how late readiness follows a dependency's outage or return. Each run
# costs a round trip to the database (on PostgreSQL, with the pool's own check, about 1.5 ms of a
# replica's CPU and some of PostgreSQL's); at rest that was most of what a replica did.
CHECK_INTERVAL_SECONDS = 5.0
HEARTBEAT_EVERY = 6  # runs: a heartbeat log line every 30 s

Check = Callable[[], Awaitable[bool]]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# What a liveness probe asks for: SERVING while the process answers at all, whatever its
# dependencies say, so a database or NATS outage makes a replica not ready (the service names and
# "" follow the required checks) but never gets it restarted; NOT_SERVING once it is stopping.
LIVENESS = "liveness"


class BoundedHealthServicer(HealthServicer):  # type: ignore[misc]
    """grpc.health.v1 with a cap on concurrent Watch streams: beyond `max_watches`, a Watch is
    refused at once with RESOURCE_EXHAUSTED (reason TOO_MANY_WATCHES) and a RetryInfo delay,
    so a flood of streams from a caller nobody authenticated cannot grow the process."""

    def __init__(
        self, max_watches: int = MAX_WATCHES, retry_after_seconds: float = WATCH_RETRY_AFTER_SECONDS
    ) -> None:
        super().__init__()
        self.max_watches = max_watches
        self.watching = 0
        self._retry_after = retry_after_seconds
        self._refused_since_log = 0

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: Any) -> None:
        if self.watching >= self.max_watches:
            if self._refused_since_log == 0:
                log.warning("health watches refused", extra={"limit": self.max_watches})
            self._refused_since_log += 1
            await abort_with(
                context,
                kinds.ResourceExhausted(
                    f"too many health watches: at most {self.max_watches} at once",
                    reason="TOO_MANY_WATCHES",
                    metadata={"limit": str(self.max_watches)},
                    retry_after_seconds=self._retry_after,
                ),
            )
        self.watching += 1
        try:
            await super().Watch(request, context)
        finally:
            self.watching -= 1
            if self.watching == 0:
                self._refused_since_log = 0


class HealthReporter:
    """Sets SERVING or NOT_SERVING for the service (and "") from required checks, and logs a
    heartbeat with every check's result: readiness. `liveness` is SERVING while it runs.

    `required` checks decide the status; `informational` ones (a dependency the service can do
    without for a while, such as NATS behind an outbox) only show in the heartbeat. A check that
    fails logs why once, and again only when the reason changes or it passes again.
    """

    def __init__(
        self,
        servicer: HealthServicer,
        service_names: list[str],
        required: Mapping[str, Check],
        informational: Mapping[str, Check] | None = None,
        interval: float = CHECK_INTERVAL_SECONDS,
        heartbeat_every: int = HEARTBEAT_EVERY,
        circuits: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self._servicer = servicer
        self._names = ["", *service_names]
        self._required = dict(required)
        self._informational = dict(informational or {})
        self._interval = interval
        self._heartbeat_every = heartbeat_every
        self._circuits = circuits  # upstream -> its circuit's state, shown in the heartbeat
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing: dict[str, str] = {}  # check name -> why it failed last time

    async def _results(self) -> dict[str, bool]:
        checks = {**self._required, **self._informational}
        results: dict[str, bool] = {}
        for name, check in checks.items():
            why = await self._why_failing(check)
            self._report(name, why)
            results[name] = why is None
        return results

    async def _why_failing(self, check: Check) -> str | None:
        """None if the check passes, else what went wrong."""
        try:
            # A timeout scope, not wait_for: no task of its own, so a check that answers without
            # waiting (most do) costs no turn of the event loop (under grpc.aio ~130 µs each).
            async with asyncio.timeout(self._interval):
                passed = await check()
        except TimeoutError:
            return f"no answer within {self._interval}s"
        except Exception as error:  # a check that raises is failing, not fatal to the service
            return repr(error)
        return None if passed else "the check returned False"

    def _report(self, name: str, why: str | None) -> None:
        """Log a change only: the first failure, a new reason, or passing again."""
        before = self._failing.get(name)
        if why == before:
            return
        if why is None:
            del self._failing[name]
            log.info("health check passes again", extra={"check": name})
        else:
            self._failing[name] = why
            log.warning("health check fails", extra={"check": name, "reason": why})

    async def refresh(self) -> tuple[bool, dict[str, bool]]:
        """Run the checks once and publish the status; returns (serving, each check's result)."""
        results = await self._results()
        serving = all(results[name] for name in self._required) and not self._stopping
        for name in self._names:
            await self._servicer.set(name, SERVING if serving else NOT_SERVING)
        await self._servicer.set(LIVENESS, NOT_SERVING if self._stopping else SERVING)
        return serving, results

    async def _loop(self) -> None:
        tick = 0
        while True:
            serving, results = await self.refresh()
            if tick % self._heartbeat_every == 0:
                extra = {"serving": serving, "checks": results, "circuits": self._circuits()}
                log.info("heartbeat", extra=extra)
            tick += 1
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="health")

    async def stop(self) -> None:
        """NOT_SERVING for good: load balancers and probes stop sending new calls."""
        self._stopping = True
        if self._task:
            self._task.cancel()
        await self._servicer.enter_graceful_shutdown()
