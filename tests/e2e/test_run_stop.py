"""`make run`, then Ctrl-C: it exits 0, nothing of the mesh is left running, its ports are free
again, and every process got to stop gracefully."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.e2e.launcher import LaunchedMesh, start_launcher
from tests.support.data.customer import FILLED
from tooling.harness.leftovers import busy_ports, processes_mentioning

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class Stopped:
    mesh: LaunchedMesh
    exit_code: int
    still_running: list[str]  # names from the ready file whose process is alive


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Stopped:
    """A mesh of its own, used as after a demo (events went through every service), then
    Ctrl-C."""
    mesh = start_launcher(tmp_path_factory.mktemp("run-stop"))
    try:
        with mesh.customer("alice-token", "acc-alice") as alice:
            order = alice.sell("AAPL", 1)
            alice.wait_for_status(order.order_id, {FILLED}, SETTLE_SECONDS)
    except BaseException:
        mesh.stop()
        raise
    exit_code, still_running = mesh.stop()
    return Stopped(mesh, exit_code, still_running)


def test_ctrl_c_makes_make_run_exit_0(stopped: Stopped) -> None:
    assert stopped.exit_code == 0, stopped.mesh.said()


def test_ctrl_c_leaves_no_process_of_the_mesh_running(stopped: Stopped) -> None:
    assert not stopped.still_running, f"left running: {stopped.still_running}"
    # Whatever their pids: nothing may still use the mesh's data folder.
    leftovers = processes_mentioning(str(stopped.mesh.data_dir))
    assert not leftovers, "\n".join(leftovers)


def test_ctrl_c_frees_every_port_the_mesh_used(stopped: Stopped) -> None:
    assert not busy_ports(stopped.mesh.ports)


def test_ctrl_c_lets_every_process_stop_gracefully_in_time(stopped: Stopped) -> None:
    """Nothing had to be killed, and each service finished its own shutdown (its log says so)."""
    said = stopped.mesh.said(lines=20)
    assert "killed" not in said, said
    for service in stopped.mesh.services:
        log = (stopped.mesh.data_dir / "logs" / f"{service}.log").read_text()
        assert '"message": "stopped"' in log, f"{service} did not log that it stopped"
