"""What `make run` (or `make cluster`) starts and where, read and checked before anything starts.

Addresses come from the contract's environment variables; SHUTDOWN_GRACE_SECONDS, which the
services read too, says how long stopping may take. The cluster shape (tooling/launcher/
topology.py) reads the same variables, each listing its replicas or nodes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mesh.config import DEFAULT_SHUTDOWN_GRACE_SECONDS, Env
from mesh.topology import NAMES, SERVICES
from tooling.launcher import parts_logs
from tooling.launcher.observability import Observability
from tooling.launcher.paths import REPO_ROOT, TOOLS
from tooling.launcher.topology import (
    CLUSTER_NAME,
    NatsNode,
    Replica,
    addr_list,
    cluster_defaults,
    nats_nodes,
    replicas,
)

# Beyond a service's own grace: its drain before it, stopping its components after it.
STOP_MARGIN_SECONDS = 5.0
# The Go parts (NATS, Jaeger, VictoriaLogs, Prometheus, Alertmanager, the blackbox exporter) run
# on one processor each unless GOMAXPROCS says otherwise. Idle, a Go runtime with a processor per
# core wakes threads to look for work every time a timer fires: with one, the mesh at rest took
# 1.63-1.85% of a core against 1.92-2.30% (tooling.bench.idle), and under load nothing changed
# (NATS 1.66 ms of CPU per order either way). Each part is light; the services are Python.
GO_PROCESSORS = "1"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    tracing: bool
    timeout: float
    ready_file: Path | None
    service_addrs: Mapping[str, str]
    metrics_addrs: Mapping[str, str]
    observability: Observability | None  # None with --no-observability
    nats_url: str
    jaeger_otlp_addr: str
    jaeger_query_addr: str
    victorialogs_addr: str  # the log store; started with tracing, like Jaeger
    shutdown_grace: float
    environ: Mapping[str, str] = field(repr=False)
    # mTLS between the services and to NATS; off only for the benchmark's comparison.
    mesh_tls: bool = True
    gateway_tls: bool = False
    # The processes: one per service and one NATS, or a cluster's replicas and nodes.
    replicas: tuple[Replica, ...] = ()
    nats_nodes: tuple[NatsNode, ...] = ()
    # PostgreSQL of the launcher's own (host:port), a database per service; None: SQLite.
    postgres_addr: str | None = None

    @property
    def clustered(self) -> bool:
        return len(self.nats_nodes) > 1

    def replicas_of(self, service: str) -> list[Replica]:
        return [replica for replica in self.replicas if replica.service == service]

    @property
    def certs_dir(self) -> Path:
        return Path(self.environ.get("MESH_CERTS_DIR") or self.data_dir / "certs")

    @property
    def nats_config(self) -> Path:
        return self.data_dir / "nats.json"

    @property
    def services_nats_url(self) -> str:
        """What the services dial, every node: tls:// when NATS takes only the mesh's
        certificates."""
        scheme = "tls" if self.mesh_tls else "nats"
        return ",".join(f"{scheme}://{node.client_addr}" for node in self.nats_nodes)

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def query_url(self) -> str:
        return f"http://{self.jaeger_query_addr}"

    @property
    def otlp_endpoint(self) -> str:
        """Where services export spans: OTEL_EXPORTER_OTLP_ENDPOINT if set, else our Jaeger."""
        return self.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or f"http://{self.jaeger_otlp_addr}"

    @property
    def stop_timeout(self) -> float:
        """How long a child may take to stop after SIGTERM before it is killed."""
        return self.shutdown_grace + STOP_MARGIN_SECONDS


def load_settings(
    data_dir: Path,
    tracing: bool,
    timeout: float,
    ready_file: Path | None,
    environ: Mapping[str, str],
    observability: bool = True,
    *,
    cluster: bool = False,
    postgres: bool = False,
) -> Settings:
    """Raises ConfigError, naming the variable, for a value the mesh could not use.

    `cluster`: the cluster's addresses (topology.cluster_defaults) where `environ` has none,
    three NATS nodes and PostgreSQL; `postgres` alone: PostgreSQL for one replica each.
    """
    if cluster:
        environ = {**cluster_defaults(), **environ}
    environ = {"GOMAXPROCS": GO_PROCESSORS, **environ}
    env = Env(environ)
    parts = Observability.from_env(env) if observability else None
    service_addrs = {name: env.service_addr(name) for name in NAMES}
    metrics_addrs = {
        service.name: ",".join(addr_list(env, service.metrics_variable, service.metrics_address))
        for service in SERVICES
    }
    nats_url = env.nats_url()
    monitor = None if parts is None else parts.addrs["NATS_MONITOR_ADDR"]
    return Settings(
        data_dir=data_dir.resolve(),
        tracing=tracing,
        timeout=timeout,
        ready_file=ready_file,
        service_addrs=service_addrs,
        metrics_addrs=metrics_addrs,
        observability=parts,
        nats_url=nats_url,
        jaeger_otlp_addr=env.addr("JAEGER_OTLP_GRPC_ADDR", "127.0.0.1:4317"),
        jaeger_query_addr=env.addr("JAEGER_QUERY_ADDR", "127.0.0.1:16686"),
        victorialogs_addr=env.addr("VICTORIALOGS_ADDR", parts_logs.DEFAULT_VICTORIALOGS_ADDR),
        shutdown_grace=env.number("SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS),
        environ=dict(environ),
        mesh_tls=env.mesh_tls_on(),
        gateway_tls=env.flag("GATEWAY_TLS"),
        replicas=replicas(service_addrs, metrics_addrs),
        nats_nodes=nats_nodes(env, nats_url, monitor, cluster),
        postgres_addr=env.addr("POSTGRES_ADDR", cluster_defaults()["POSTGRES_ADDR"])
        if cluster or postgres
        else None,
    )


def nats_command(settings: Settings, node: NatsNode | None = None) -> list[str]:
    """JetStream on, files under the data folder (<data>/nats, or <data>/<node> in a cluster);
    the monitoring port for heartbeats and /jsz (on the same host as the client port); in a
    cluster, routes to every node (plaintext: loopback only)."""
    node = node or settings.nats_nodes[0]
    host, _, port = node.client_addr.rpartition(":")
    store = settings.data_dir / node.name
    command = [str(TOOLS / "nats-server"), "-js", "-a", host, "-p", port, "-sd", str(store)]
    if node.monitor_addr is not None:
        command += ["-m", node.monitor_addr.rpartition(":")[2]]
    if settings.mesh_tls:  # TLS and one user per service: tooling/launcher/nats_auth.py
        command += ["-c", str(settings.nats_config)]
    if node.route_addr is not None:
        routes = ",".join(f"nats://{n.route_addr}" for n in settings.nats_nodes)
        command += ["-n", node.name, "--cluster_name", CLUSTER_NAME]
        command += ["--cluster", f"nats://{node.route_addr}", "--routes", routes]
    return command


def jaeger_command() -> list[str]:
    return [str(TOOLS / "jaeger"), f"--config=file:{REPO_ROOT / 'config' / 'jaeger.yaml'}"]


def jaeger_env(settings: Settings) -> dict[str, str]:
    """config/jaeger.yaml reads its addresses from these; the others keep their defaults."""
    return {
        **settings.environ,
        "JAEGER_OTLP_GRPC_ADDR": settings.jaeger_otlp_addr,
        "JAEGER_QUERY_ADDR": settings.jaeger_query_addr,
        **parts_logs.jaeger_ui_env(settings.environ),
        **(
            {}
            if settings.observability is None
            else {
                "JAEGER_METRICS_PORT": settings.observability.addrs[
                    "JAEGER_METRICS_ADDR"
                ].rpartition(":")[2]
            }
        ),
    }


def service_env(
    settings: Settings,
    name: str,
    replica: Replica | None = None,
    database_url: str = "",
) -> dict[str, str]:
    """The contract's variables for one service (one of its replicas), on top of the caller's
    environment; `database_url`: its PostgreSQL database, shared by its replicas."""
    python_path = [str(REPO_ROOT), str(REPO_ROOT / "generated")]
    if settings.environ.get("PYTHONPATH"):
        python_path.append(settings.environ["PYTHONPATH"])
    env = {
        "MARKET_HALTED_SYMBOLS": "GOOG",  # so the demo shows a rejection; the caller's value wins
        # Faults on purpose (simplebank.ops.v1), served on mTLS ports to the operator alone: not
        # on the gateway's public port, not with MESH_TLS=off; not in containers.
        **({"OPS_FAULTS_ENABLED": "true"} if settings.mesh_tls and name != "gateway" else {}),
        # The demo's tokens (alice-token, bob-token) are accepted: this is `make run`.
        "GATEWAY_DEMO_TOKENS": "allow",
        **settings.environ,
        **{f"{other.upper()}_ADDR": addr for other, addr in settings.service_addrs.items()},
        **{f"{other.upper()}_METRICS_ADDR": a for other, a in settings.metrics_addrs.items()},
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONUNBUFFERED": "1",  # log lines reach the log file as they happen
        "DATA_DIR": str(settings.data_dir),
        "NATS_URL": settings.services_nats_url,
        "MESH_CERTS_DIR": str(settings.certs_dir),
        "MESH_TLS": "on" if settings.mesh_tls else "off",
        "OTEL_SERVICE_NAME": name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": settings.otlp_endpoint,
    }
    if replica is not None and replica.name != name:
        env[f"{name.upper()}_LISTEN_ADDR"] = replica.addr
        env[f"{name.upper()}_METRICS_ADDR"] = replica.metrics_addr
        # Which replica a span or log record came from (service.name stays the service's).
        attributes = settings.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
        env["OTEL_RESOURCE_ATTRIBUTES"] = ",".join(
            filter(None, [attributes, f"service.instance.id={replica.name}"])
        )
    if database_url:
        env["DATABASE_URL"] = database_url
    if not settings.tracing:
        env["OTEL_SDK_DISABLED"] = "true"  # no spans, and no log records shipped
    elif not settings.environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"):
        env |= parts_logs.log_shipping_env(settings.victorialogs_addr)
    return env
