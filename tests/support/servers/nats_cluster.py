"""A real three-node nats-server JetStream cluster for tests: free 127.0.0.1 ports, routes
between the nodes, stores under tmp_path; with `certs_dir`, TLS and the mesh's users."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers.nats import NATS_BINARY, NatsServer
from tests.support.servers.processes import free_port

NODES = 3
CLUSTER_NAME = "simplebank-test"


@dataclass(frozen=True)
class NatsCluster:
    nodes: list[NatsServer]

    @property
    def url(self) -> str:
        """Every node, as a service's NATS_URL lists them."""
        return ",".join(node.url for node in self.nodes)

    def node_named(self, name: str) -> NatsServer:
        return self.nodes[int(name.rpartition("-")[2])]

    def logs(self) -> str:
        return "\n".join(f"--- n{i} ---\n{node.log(15)}" for i, node in enumerate(self.nodes))


def node_name(index: int) -> str:
    return f"{CLUSTER_NAME}-{index}"


@contextmanager
def run_nats_cluster(tmp_path: Path, certs_dir: Path | None = None) -> Iterator[NatsCluster]:
    """Three nodes, each routed to the other two, until the block ends."""
    if not NATS_BINARY.exists():
        pytest.fail(f"{NATS_BINARY} is missing: run `make tools` first", pytrace=False)
    route_ports = [free_port() for _ in range(NODES)]
    routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
    nodes = []
    for index in range(NODES):
        store_dir = tmp_path / f"nats-{index}-store"
        store_dir.mkdir(parents=True, exist_ok=True)
        cluster_args = [
            "-n",
            node_name(index),
            "--cluster_name",
            CLUSTER_NAME,
            "--cluster",
            f"nats://127.0.0.1:{route_ports[index]}",
            "--routes",
            routes,
        ]
        log_path = tmp_path / f"nats-{index}.log"
        nodes.append(NatsServer(free_port(), store_dir, log_path, certs_dir, cluster_args))
    with ExitStack() as stack:
        for node in nodes:
            node.start()
            stack.callback(node.stop)
        yield NatsCluster(nodes)
