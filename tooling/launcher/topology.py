"""Which processes the launcher starts: one of each service and one NATS (`make run`), or the
cluster shape (`make cluster`): two replicas of every service, three NATS nodes, PostgreSQL.

A replica is a child of its own, named after its service (`orders`), or `orders-1`, `orders-2`
in a cluster; a NATS node likewise `nats`, or `nats-1` ... `nats-3`, which is also the node's
server name, so the stream leader JetStream reports is the child to kill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mesh.config import ConfigError, Env
from mesh.topology import SERVICES

CLUSTER_REPLICAS = 2
CLUSTER_NATS_NODES = 3
CLUSTER_NAME = "simplebank"
REPLICA_PORT_STEP = 10  # the second replica of gateway (50051) listens on 50061, and so on
# Its metrics: 9461 -> 9481 (9471-9475 are the services' health ports, mesh/topology.py).
METRICS_PORT_STEP = 20
DEFAULT_POSTGRES_ADDR = "127.0.0.1:5433"  # beside, not on, a system PostgreSQL's 5432


@dataclass(frozen=True)
class Replica:
    service: str
    name: str  # the child's name, its log file's and the ready file's
    addr: str  # where it listens (<SERVICE>_LISTEN_ADDR)
    metrics_addr: str


@dataclass(frozen=True)
class NatsNode:
    name: str
    client_addr: str
    route_addr: str | None  # where the other nodes reach it; None when NATS is one server
    monitor_addr: str | None  # /healthz, /jsz; None without the watchers (one server only)


def _ports(host_port: str, count: int, step: int) -> str:
    host, _, port = host_port.rpartition(":")
    return ",".join(f"{host}:{int(port) + step * n}" for n in range(count))


def cluster_defaults() -> dict[str, str]:
    """The cluster's addresses where the environment gives none: the contract's ports for the
    first replica and node, the next ones beside them."""
    defaults = {}
    for service in SERVICES:
        defaults[service.address_variable] = _ports(
            service.address, CLUSTER_REPLICAS, REPLICA_PORT_STEP
        )
        defaults[service.metrics_variable] = _ports(
            service.metrics_address, CLUSTER_REPLICAS, METRICS_PORT_STEP
        )
    nodes = _ports("127.0.0.1:4222", CLUSTER_NATS_NODES, 1).split(",")
    defaults["NATS_URL"] = ",".join(f"nats://{addr}" for addr in nodes)
    defaults["NATS_CLUSTER_ADDRS"] = _ports("127.0.0.1:6222", CLUSTER_NATS_NODES, 1)
    defaults["NATS_MONITOR_ADDRS"] = _ports("127.0.0.1:8222", CLUSTER_NATS_NODES, 1)
    defaults["POSTGRES_ADDR"] = DEFAULT_POSTGRES_ADDR
    return defaults


def addr_list(env: Env, variable: str, default: str, count: int | None = None) -> list[str]:
    """host:port addresses separated by commas, each checked; exactly `count` of them if given."""
    raw = env.text(variable, default)
    addrs = [Env({variable: a.strip()}).addr(variable, default) for a in raw.split(",")]
    if count is not None and len(addrs) != count:
        raise ConfigError(f"{variable}={raw!r}: the cluster needs {count} addresses, one each")
    return addrs


def replicas(
    service_addrs: Mapping[str, str], metrics_addrs: Mapping[str, str]
) -> tuple[Replica, ...]:
    """Every service process to start, in the order of mesh/topology.py."""
    found = []
    for service in SERVICES:
        addrs = service_addrs[service.name].split(",")
        metrics = metrics_addrs[service.name].split(",")
        if len(metrics) != len(addrs):
            raise ConfigError(
                f"{service.metrics_variable}: one address for each replica in"
                f" {service.address_variable} ({len(addrs)})"
            )
        for n, (addr, metrics_addr) in enumerate(zip(addrs, metrics, strict=True), start=1):
            name = service.name if len(addrs) == 1 else f"{service.name}-{n}"
            found.append(Replica(service.name, name, addr, metrics_addr))
    return tuple(found)


def nats_nodes(env: Env, nats_url: str, monitor: str | None, cluster: bool) -> tuple[NatsNode, ...]:
    """One node at NATS_URL (its monitor on `monitor` if given), or the cluster's three: client
    ports from NATS_URL, routes from NATS_CLUSTER_ADDRS, monitors from NATS_MONITOR_ADDRS."""
    clients = [url.partition("://")[2] for url in nats_url.split(",")]
    if not cluster:
        if len(clients) != 1:
            raise ConfigError(f"NATS_URL={nats_url!r}: `make run` starts one NATS; list one URL")
        return (NatsNode("nats", clients[0], None, monitor),)
    if len(clients) != CLUSTER_NATS_NODES:
        raise ConfigError(
            f"NATS_URL={nats_url!r}: the cluster needs {CLUSTER_NATS_NODES} URLs, one a node"
        )
    defaults = cluster_defaults()
    routes = addr_list(
        env, "NATS_CLUSTER_ADDRS", defaults["NATS_CLUSTER_ADDRS"], CLUSTER_NATS_NODES
    )
    monitors = addr_list(
        env, "NATS_MONITOR_ADDRS", defaults["NATS_MONITOR_ADDRS"], CLUSTER_NATS_NODES
    )
    return tuple(
        NatsNode(f"nats-{n}", client, route, monitor)
        for n, (client, route, monitor) in enumerate(
            zip(clients, routes, monitors, strict=True), start=1
        )
    )
