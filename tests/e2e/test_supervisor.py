"""make run's supervisor: a service killed with SIGKILL is restarted and SERVING again, the mesh
still works; a launcher killed with SIGKILL takes every child with it; a new make run names the
process holding a port it needs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mesh.topology import NAMES
from tests.e2e.launcher import LaunchedMesh, launched_mesh, start_launcher
from tests.support.data.customer import FILLED
from tests.support.servers.processes import start_process, stop_process
from tooling.harness.leftovers import busy_ports, processes_mentioning

pytestmark = pytest.mark.e2e

SERVING_AGAIN_SECONDS = 10.0
GONE_SECONDS = 10.0
POLL_SECONDS = 0.1


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """A mesh of its own: this module kills its services."""
    with launched_mesh(tmp_path_factory.mktemp("supervisor")) as running:
        yield running


def serving(mesh: LaunchedMesh, service: str) -> bool:
    return '"SERVING"' in mesh.grpcurl(service, "grpc.health.v1.Health/Check").output


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {seconds:g}s"
        time.sleep(POLL_SECONDS)


@pytest.mark.parametrize("service", NAMES)
def test_a_service_killed_with_sigkill_is_restarted_and_serving_within_10_seconds(
    mesh: LaunchedMesh, service: str
) -> None:
    old_pid = mesh.current().pids[service]
    os.kill(old_pid, signal.SIGKILL)
    killed_at = time.monotonic()

    wait_until(lambda: mesh.current().pids[service] != old_pid, SERVING_AGAIN_SECONDS, "restarted")
    wait_until(lambda: serving(mesh, service), SERVING_AGAIN_SECONDS, "SERVING again")
    print(f"\n{service} SERVING again {time.monotonic() - killed_at:.1f}s after kill -9")

    assert f"{service} exited with code -9; restarting it in" in mesh.said(lines=40)
    for other in NAMES:
        assert serving(mesh, other), f"{other} is not SERVING"
    with mesh.customer("alice-token", "acc-alice") as alice:
        order = alice.sell("AAPL", 1)
        alice.wait_for_status(order.order_id, {FILLED}, SERVING_AGAIN_SECONDS)


def test_a_launcher_killed_with_sigkill_leaves_no_process_of_the_mesh(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    mesh = start_launcher(tmp_path_factory.mktemp("launcher-killed"))
    try:
        os.kill(mesh.process.pid, signal.SIGKILL)
        mesh.process.wait(5)
        wait_until(lambda: not mesh.running(), GONE_SECONDS, "all gone")
        left = processes_mentioning(str(mesh.data_dir))
        busy = busy_ports(mesh.ports)
    finally:
        mesh.kill_leftovers()

    assert not left, "\n".join(left)
    assert not busy


def test_make_run_names_the_process_holding_a_port_it_needs(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("port-taken")
    mesh = start_launcher(root / "first")
    gateway_port = int(mesh.gateway.rpartition(":")[2])
    mesh.stop()
    holder = hold_port(gateway_port, root / "holder.log")
    try:
        again = start_process(
            [sys.executable, "tooling/run.py", "--data-dir", str(root / "second")],
            mesh.ports,
            root / "second.log",
        )
        code = again.wait(60)
    finally:
        stop_process(holder)
    said = (root / "second.log").read_text()

    assert code == 1, said
    assert f"127.0.0.1:{gateway_port} (gateway): pid {holder.pid}: " in said, said


def hold_port(port: int, log: Path) -> subprocess.Popen[bytes]:
    """Another process listening on `port`, as a leftover of an earlier run would."""
    script = (
        "import socket, time\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen(); print('listening', flush=True)\n"
        "time.sleep(120)\n"
    )
    process = start_process([sys.executable, "-c", script], None, log)
    wait_until(lambda: port_taken(port), 10, "listening")
    return process


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
