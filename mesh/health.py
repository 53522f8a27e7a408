"""grpc.health.v1 with a status that follows the service's own checks of its dependencies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthReporter:
    """Sets SERVING or NOT_SERVING for the service (and "") from required checks, and logs a
    heartbeat with every check's result.

    `required` checks decide the status; `informational` ones (a dependency the service can do
    without for a while, such as NATS behind an outbox) only show in the heartbeat.
    """

    def __init__(
        self,
        servicer: HealthServicer,
        service_names: list[str],
        required: Mapping[str, Check],
        informational: Mapping[str, Check] | None = None,
        interval: float = 1.0,
        heartbeat_every: int = 30,
    ) -> None:
        self._servicer = servicer
        self._names = ["", *service_names]
        self._required = dict(required)
        self._informational = dict(informational or {})
        self._interval = interval
        self._heartbeat_every = heartbeat_every
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def _results(self) -> dict[str, bool]:
        checks = {**self._required, **self._informational}
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), timeout=self._interval)
            except Exception:
                results[name] = False
        return results

    async def refresh(self) -> tuple[bool, dict[str, bool]]:
        """Run the checks once and publish the status; returns (serving, each check's result)."""
        results = await self._results()
        serving = all(results[name] for name in self._required) and not self._stopping
        for name in self._names:
            await self._servicer.set(name, SERVING if serving else NOT_SERVING)
        return serving, results

    async def _loop(self) -> None:
        tick = 0
        while True:
            serving, results = await self.refresh()
            if tick % self._heartbeat_every == 0:
                log.info("heartbeat", extra={"serving": serving, "checks": results})
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
