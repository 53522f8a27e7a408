"""`make cluster`: the launcher starts two replicas of every service, three NATS nodes and
PostgreSQL, answers docs/grpcurl.md's PlaceSellOrder through grpcurl on a gateway replica (the order
then read as FILLED through the other one), and Ctrl-C stops all of it, ports freed."""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesh.topology import NAMES
from tests.e2e import readme
from tests.e2e.commands import Ran, shell
from tests.e2e.launcher import LaunchedMesh, start_launcher
from tests.support.polling import grpcurl_retry_delay, poll
from tooling.harness.leftovers import busy_ports, processes_mentioning
from tooling.launcher.postgres import SYSTEM_USER
from tooling.launcher.topology import CLUSTER_NATS_NODES, CLUSTER_REPLICAS

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 20.0


@dataclass(frozen=True)
class ClusterRun:
    mesh: LaunchedMesh
    placed: Ran  # the pages' first PlaceSellOrder, on the first gateway replica
    expected: str  # what its page shows for it
    read_back: Ran  # the pages' first GetOrder, on the second gateway replica, once FILLED
    exit_code: int
    still_running: list[str]


def readme_example(method: str) -> readme.Example:
    """The first example calling `method` on README.md or a docs page (docs/grpcurl.md's)."""
    return next(e for e in readme.all_examples() if method in e.command)


def on_gateway(example: readme.Example, gateway: str) -> str:
    """The page's command on one gateway replica's port (the pages call 50051)."""
    return example.command.replace("127.0.0.1:50051", gateway)


def read_until_filled(command: str) -> Ran:
    return poll(
        lambda: shell(command),
        lambda ran: "ORDER_STATUS_FILLED" in ran.output,
        SETTLE_SECONDS,
        "the order read as FILLED",
        0.5,
        backoff=lambda ran: grpcurl_retry_delay(ran.output),
        or_last=True,
    )


@pytest.fixture(scope="module")
def cluster_run() -> Iterator[ClusterRun]:
    # Not under pytest's root-only temp folder: PostgreSQL's own user must reach its files.
    root = Path(tempfile.mkdtemp(prefix="simplebank-cluster-e2e-"))
    root.chmod(0o755)
    place, get = readme_example("/PlaceSellOrder"), readme_example("/GetOrder")
    mesh = start_launcher(root, ["--cluster"])
    try:
        first, second = (e.address for e in mesh.ready.replicas_of("gateway"))
        placed = shell(on_gateway(place, first))
        read_back = read_until_filled(on_gateway(get, second))
    except BaseException:
        mesh.stop()
        raise
    exit_code, still_running = mesh.stop()
    yield ClusterRun(mesh, placed, place.output, read_back, exit_code, still_running)
    # The data folder holds PostgreSQL's files, owned by its user: removed as root here.
    shell(f"rm -rf '{root}'")


def test_the_ready_file_lists_every_replica_every_nats_node_and_postgres(
    cluster_run: ClusterRun,
) -> None:
    ready = cluster_run.mesh.ready
    for service in NAMES:
        replicas = [e.address for e in ready.replicas_of(service)]
        assert len(set(replicas)) == CLUSTER_REPLICAS, f"{service}: {replicas}"
    assert sorted(ready.nats_nodes) == [f"nats-{n}" for n in range(1, CLUSTER_NATS_NODES + 1)]
    assert len(ready.nats_url.split(",")) == CLUSTER_NATS_NODES
    assert ready.postgres is not None


def test_the_readme_place_sell_order_answers_through_a_gateway_replica(
    cluster_run: ClusterRun,
) -> None:
    assert cluster_run.placed.returncode == 0, cluster_run.placed.output
    assert readme.masked(cluster_run.placed.output.rstrip("\n")) == readme.masked(
        cluster_run.expected
    )


def test_the_order_reads_filled_through_the_other_gateway_replica(cluster_run: ClusterRun) -> None:
    assert '"status": "ORDER_STATUS_FILLED"' in cluster_run.read_back.output, (
        cluster_run.read_back.output
    )


def test_ctrl_c_stops_every_replica_node_and_postgres(cluster_run: ClusterRun) -> None:
    mesh = cluster_run.mesh
    assert cluster_run.exit_code == 0, mesh.said()
    assert not cluster_run.still_running, f"left running: {cluster_run.still_running}"
    leftovers = processes_mentioning(str(mesh.data_dir))
    assert not leftovers, "\n".join(leftovers)
    assert "killed" not in mesh.said(lines=20), mesh.said(lines=20)


def test_ctrl_c_frees_every_port_of_the_cluster(cluster_run: ClusterRun) -> None:
    ports = {
        f"{variable}[{n}]": address
        for variable, value in cluster_run.mesh.ports.items()
        for n, address in enumerate(value.replace("nats://", "").split(","))
    }
    assert not busy_ports(ports)


def test_postgres_ran_as_its_own_user_when_the_launcher_is_root(cluster_run: ClusterRun) -> None:
    """PostgreSQL refuses root; as root the launcher runs it as SYSTEM_USER, who owns its files."""
    data = cluster_run.mesh.data_dir / "postgres" / "data"
    assert data.owner() == (SYSTEM_USER if os.geteuid() == 0 else getpass.getuser())
