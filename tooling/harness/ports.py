"""Free loopback ports, so a benchmark or a test's mesh never collides with `make run`."""

from __future__ import annotations

import random
import socket
from pathlib import Path

from mesh.topology import SERVICES
from tooling.launcher.observability import DEFAULTS as OBSERVABILITY_DEFAULTS
from tooling.launcher.topology import CLUSTER_NATS_NODES, CLUSTER_REPLICAS

HOST = "127.0.0.1"
# Jaeger's listeners, which config/jaeger.yaml places from these (the launcher reads two of them).
JAEGER_ADDRESS_VARIABLES = (
    "JAEGER_OTLP_GRPC_ADDR",
    "JAEGER_OTLP_HTTP_ADDR",
    "JAEGER_QUERY_ADDR",
    "JAEGER_QUERY_GRPC_ADDR",
    "JAEGER_HEALTH_ADDR",
)
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_taken: set[int] = set()


def free_port() -> int:
    """A TCP port nothing listens on right now, below the ephemeral range.

    Ports the OS hands out (bind to port 0) are the ephemeral ones every outgoing connection
    also takes, ghz's thousands included, so one could be gone by the time a server binds it.
    Below that range only listeners compete. A port is never handed out twice by one run.
    """
    low = _ephemeral_low()
    for _ in range(1000):
        port = random.randrange(max(low - 12000, 1024), low)
        if port not in _taken and _bindable(port):
            _taken.add(port)
            return port
    raise OSError("no free port found below the ephemeral range")


def free_addr() -> str:
    return f"{HOST}:{free_port()}"


def free_addrs(count: int) -> str:
    """`count` free addresses, separated by commas, as a list of replicas is written."""
    return ",".join(free_addr() for _ in range(count))


def mesh_on_free_ports(cluster: bool = False) -> dict[str, str]:
    """Every port `make run` opens, moved to a free one through the variables that place it;
    with `cluster`, every port of `make cluster` (tooling/launcher/topology.py)."""
    replicas = CLUSTER_REPLICAS if cluster else 1
    env = {service.address_variable: free_addrs(replicas) for service in SERVICES}
    env |= {service.metrics_variable: free_addrs(replicas) for service in SERVICES}
    nodes = CLUSTER_NATS_NODES if cluster else 1
    env["NATS_URL"] = ",".join(f"nats://{addr}" for addr in free_addrs(nodes).split(","))
    if cluster:
        env["NATS_CLUSTER_ADDRS"] = free_addrs(nodes)
        env["NATS_MONITOR_ADDRS"] = free_addrs(nodes)
    # Read only with --postgres or --cluster, and then never the default 5433 another run holds.
    env["POSTGRES_ADDR"] = free_addr()
    env |= {variable: free_addr() for variable in JAEGER_ADDRESS_VARIABLES}
    env |= {variable: free_addr() for variable in OBSERVABILITY_DEFAULTS}
    env["VICTORIALOGS_ADDR"] = free_addr()
    # Jaeger's metrics port, for runs without the watchers (with them, JAEGER_METRICS_ADDR).
    env["JAEGER_METRICS_PORT"] = env["JAEGER_METRICS_ADDR"].rpartition(":")[2]
    return env


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True
