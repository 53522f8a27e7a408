"""Follow a server's grpc.health.v1 Watch stream from a test and wait for a given status."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def status_name(status: int) -> str:
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(status))


class HealthWatch:
    """Every status a Watch stream delivered, in order, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.arrived: list[float] = []  # time.monotonic() when each status came
        self.ended: str | None = None  # why the stream ended, once it has
        self._changed = asyncio.Condition()

    async def follow(self, stream: AsyncIterator[health_pb2.HealthCheckResponse]) -> None:
        try:
            async for response in stream:
                async with self._changed:
                    self.seen.append(response.status)
                    self.arrived.append(time.monotonic())
                    self._changed.notify_all()
            ended = "the server ended the stream"
        except grpc.aio.AioRpcError as error:
            ended = f"{error.code().name}: {error.details()}"
        async with self._changed:
            self.ended = ended
            self._changed.notify_all()

    async def wait_for(self, status: int, within: float, after: int = 0) -> int:
        """Wait until `status` arrives at index `after` or later; return its index."""

        def found() -> int | None:
            return next((i for i, s in enumerate(self.seen) if i >= after and s == status), None)

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: found() is not None or self.ended is not None),
                    within,
                )
        index = found()
        if index is None:
            names = [status_name(s) for s in self.seen]
            raise AssertionError(
                f"no {status_name(status)} within {within}s (from index {after}); the stream "
                f"delivered {names}" + (f" and ended ({self.ended})" if self.ended else "")
            )
        return index


@asynccontextmanager
async def watching(channel: grpc.aio.Channel, service: str) -> AsyncIterator[HealthWatch]:
    """Open a Watch on `service` for the block; the stream is cancelled when it ends."""
    watch = HealthWatch()
    stub = health_pb2_grpc.HealthStub(channel)
    call = stub.Watch(health_pb2.HealthCheckRequest(service=service))
    task = asyncio.create_task(watch.follow(call))
    try:
        yield watch
    finally:
        call.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
