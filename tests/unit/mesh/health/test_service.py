"""Unit tests for the health reporter: a failing check says why in the log, once per change."""

from __future__ import annotations

import asyncio
import logging

import pytest
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from mesh.health.service import LIVENESS, NOT_SERVING, SERVING, HealthReporter


class Dependency:
    """A check whose outcome the test sets: passing, returning False, or raising `error`."""

    def __init__(self) -> None:
        self.up = True
        self.error: Exception | None = None
        self.hangs = False

    async def check(self) -> bool:
        if self.error is not None:
            raise self.error
        if self.hangs:
            await asyncio.sleep(10)
        return self.up


def reporter(dependency: Dependency) -> HealthReporter:
    return HealthReporter(HealthServicer(), ["svc"], {"sqlite": dependency.check}, interval=0.01)


def health_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    return [
        (record.levelname, record.getMessage(), getattr(record, "reason", ""))
        for record in caplog.records
        if record.name == "mesh.health.service"
    ]


async def test_a_failing_check_logs_why_once_however_often_it_is_polled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dependency = Dependency()
    health = reporter(dependency)
    dependency.error = ConnectionRefusedError(111, "Connection refused")

    with caplog.at_level(logging.INFO):
        for _ in range(5):
            serving, _ = await health.refresh()

    assert not serving
    assert health_lines(caplog) == [
        ("WARNING", "health check fails", "ConnectionRefusedError(111, 'Connection refused')")
    ]


async def test_a_new_reason_and_a_recovery_are_each_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dependency = Dependency()
    health = reporter(dependency)

    with caplog.at_level(logging.INFO):
        await health.refresh()  # passing from the start: nothing to say
        dependency.up = False
        await health.refresh()
        await health.refresh()
        dependency.hangs = True
        await health.refresh()
        dependency.up, dependency.hangs = True, False
        await health.refresh()
        await health.refresh()

    assert health_lines(caplog) == [
        ("WARNING", "health check fails", "the check returned False"),
        ("WARNING", "health check fails", "no answer within 0.01s"),
        ("INFO", "health check passes again", ""),
    ]


async def status_of(servicer: HealthServicer, service: str) -> int:
    """What a probe asking for `service` is told (grpc.health.v1's Check)."""

    class Probe:
        async def abort(self, code: object, details: str) -> None:
            raise AssertionError(f"{service!r} unknown: {details}")

    answer = await servicer.Check(health_pb2.HealthCheckRequest(service=service), Probe())
    return int(answer.status)


async def test_a_failing_dependency_makes_it_not_ready_but_still_alive() -> None:
    dependency = Dependency()
    servicer = HealthServicer()
    health = HealthReporter(servicer, ["svc"], {"postgres": dependency.check}, interval=0.01)
    await health.refresh()
    assert await status_of(servicer, "") == SERVING
    assert await status_of(servicer, LIVENESS) == SERVING

    dependency.up = False
    await health.refresh()

    assert await status_of(servicer, "") == NOT_SERVING  # readiness: no new calls
    assert await status_of(servicer, "svc") == NOT_SERVING
    assert await status_of(servicer, LIVENESS) == SERVING  # liveness: not restarted for it

    await health.stop()
    assert await status_of(servicer, LIVENESS) == NOT_SERVING
