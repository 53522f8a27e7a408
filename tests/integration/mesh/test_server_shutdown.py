"""SIGTERM on a chassis process: NOT_SERVING first, the in-flight call finishes, the port is freed.

One shutdown is observed from outside (a Watch stream, a probe that dials afresh for each Check,
a TCP poller, an in-flight call) and the tests below read what was recorded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from simplebank.fees.v1 import fees_pb2_grpc
from tests.support import REPO_ROOT
from tests.support.servers import slow_service
from tests.support.servers.grpc_servers import quote_request
from tests.support.servers.health_watch import NOT_SERVING, SERVING, status_name, watching
from tests.support.servers.processes import (
    free_port,
    log_tail,
    start_process,
    stop_process,
    wait_for_port,
)

pytestmark = pytest.mark.integration

START_TIMEOUT_SECONDS = 15.0
PROBE_INTERVAL_SECONDS = 0.005
EXIT_TIMEOUT_SECONDS = slow_service.SLOW_SECONDS + slow_service.SHUTDOWN_GRACE_SECONDS + 2


@dataclass
class Shutdown:
    """What the outside world saw of one SIGTERM, on one monotonic clock."""

    log_path: Path
    port: int
    signalled_at: float = 0.0
    watch_not_serving_at: float | None = None
    port_closed_at: float | None = None
    probes: list[tuple[float, str]] = field(default_factory=list)  # (when, status or error)
    answer_minor_units: int | None = None
    call_error: str | None = None
    answered_at: float | None = None
    exit_code: int | None = None

    def log(self) -> str:
        return log_tail(self.log_path)


async def wait_for_log_line(log_path: Path, text: str, within: float) -> None:
    deadline = time.monotonic() + within
    while text not in await asyncio.to_thread(log_path.read_text, errors="replace"):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{text!r} not logged within {within}s:\n{log_tail(log_path)}")
        await asyncio.sleep(0.01)


async def wait_until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {within}s")
        await asyncio.sleep(0.01)


async def poll_until_port_closes(port: int) -> float:
    """The moment a fresh TCP connection is first refused."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return time.monotonic()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(PROBE_INTERVAL_SECONDS)


async def probe_until_refused(port: int, seen: list[tuple[float, str]]) -> None:
    """Check health the way a load balancer's probe does: a new connection every time."""
    request = health_pb2.HealthCheckRequest(service="")
    while True:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                response = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=0.5)
            except grpc.aio.AioRpcError as error:
                seen.append((time.monotonic(), error.code().name))
                return
            seen.append((time.monotonic(), status_name(response.status)))
        await asyncio.sleep(PROBE_INTERVAL_SECONDS)


async def observe_shutdown(process: subprocess.Popen[bytes], record: Shutdown) -> None:
    target = f"127.0.0.1:{record.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        async with watching(channel, "") as watch:
            await watch.wait_for(SERVING, within=3.0)
            call = fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request(), timeout=10)
            await wait_for_log_line(record.log_path, slow_service.CALL_STARTED, within=5.0)
            closed = asyncio.create_task(poll_until_port_closes(record.port))
            probing = asyncio.create_task(probe_until_refused(record.port, record.probes))
            await wait_until(lambda: len(record.probes) >= 2, within=5.0)

            record.signalled_at = time.monotonic()
            os.kill(process.pid, signal.SIGTERM)

            index = await watch.wait_for(NOT_SERVING, within=3.0)
            record.watch_not_serving_at = watch.arrived[index]
        # The Watch is closed now: an open stream would hold the server for the whole grace.
        try:
            answer = await call
            record.answer_minor_units = answer.fee.minor_units
        except grpc.aio.AioRpcError as error:
            record.call_error = f"{error.code().name}: {error.details()}"
        record.answered_at = time.monotonic()
        record.port_closed_at = await asyncio.wait_for(closed, timeout=EXIT_TIMEOUT_SECONDS)
        await asyncio.wait_for(probing, timeout=EXIT_TIMEOUT_SECONDS)
    record.exit_code = await asyncio.to_thread(process.wait, EXIT_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def shutdown(tmp_path_factory: pytest.TempPathFactory) -> Shutdown:
    """Start the slow service, make a slow call, SIGTERM it mid-call, and record what happens."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("shutdown") / "slow_service.log"
    env = {"PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'generated'}"}
    args = [sys.executable, "-m", "tests.support.servers.slow_service", f"127.0.0.1:{port}"]
    process = start_process(args, env, log_path)
    record = Shutdown(log_path, port)
    try:
        wait_for_port("127.0.0.1", port, START_TIMEOUT_SECONDS, process)
        asyncio.run(observe_shutdown(process, record))
    except (TimeoutError, RuntimeError) as error:
        pytest.fail(f"shutdown not observed: {error!r}\n{log_tail(log_path)}", pytrace=False)
    finally:
        stop_process(process)
    return record


def test_sigterm_turns_health_not_serving_on_a_watch_before_the_port_closes(
    shutdown: Shutdown,
) -> None:
    assert shutdown.watch_not_serving_at is not None
    assert shutdown.port_closed_at is not None
    assert shutdown.watch_not_serving_at < shutdown.port_closed_at, shutdown.log()


def test_a_probe_dialling_afresh_sees_not_serving_before_the_port_refuses_it(
    shutdown: Shutdown,
) -> None:
    after_signal = [outcome for when, outcome in shutdown.probes if when > shutdown.signalled_at]
    assert "NOT_SERVING" in after_signal, (
        f"probe outcomes after SIGTERM: {after_signal}: the port closed before any probe could "
        "see NOT_SERVING, so a load balancer would keep routing calls here until it is refused"
    )
    assert after_signal.index("NOT_SERVING") < len(after_signal) - 1


def test_the_call_in_flight_at_sigterm_completes_ok(shutdown: Shutdown) -> None:
    assert shutdown.call_error is None, shutdown.log()
    assert shutdown.answer_minor_units == quote_request().quantity
    assert shutdown.answered_at is not None
    assert shutdown.answered_at > shutdown.signalled_at


def test_the_process_exits_cleanly_and_frees_its_port(shutdown: Shutdown) -> None:
    assert shutdown.exit_code == 0, shutdown.log()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # No SO_REUSEPORT: binding fails while any socket still listens on the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", shutdown.port))
        sock.listen()
