"""The shapes the benchmark measures (tracing on, the sampler off, ... PostgreSQL, the cluster),
each the mesh of the harness with the workload's customers seeded and every order traced as the
shape says."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tooling.bench.progress import say
from tooling.bench.workload import Workload
from tooling.harness import mesh as harness
from tooling.harness.mesh import Mesh


@dataclass(frozen=True)
class Tracing:
    """How the services trace: the launcher's flags and the OTEL_* variables they get."""

    name: str
    launcher_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def cluster(self) -> bool:
        return "--cluster" in self.launcher_args

    @property
    def postgres(self) -> bool:
        """State in PostgreSQL (`--postgres`, and the cluster), not in SQLite files."""
        return self.cluster or "--postgres" in self.launcher_args


# The default: every order traced and exported to Jaeger.
TRACING_ON = Tracing("tracing on")
# The SDK and interceptors still run, but no span is recorded or exported.
SAMPLER_OFF = Tracing("sampler off", env={"OTEL_TRACES_SAMPLER": "always_off"})
# `make run --no-tracing`: no Jaeger, and OTEL_SDK_DISABLED hands out no-op tracers.
SDK_OFF = Tracing("no tracing", launcher_args=("--no-tracing",))
# Tracing on, but no metrics: no meter provider (its instruments do nothing), no metrics port,
# and no Prometheus, Alertmanager or blackbox exporter (`make run --no-observability`).
METRICS_OFF = Tracing(
    "metrics off",
    launcher_args=("--no-observability",),
    env={"OTEL_METRICS_EXPORTER": "none"},
)
# Everything on, but plaintext between the services and to NATS, and no authorization check:
# MESH_TLS=off exists for this comparison only (what mTLS costs), never for a real run.
MESH_TLS_OFF = Tracing("mesh TLS off", env={"MESH_TLS": "off", "MESH_TLS_OFF_FOR_BENCHMARK": "yes"})
# `make run --postgres`: tracing on, one process per service, each with its database in one
# PostgreSQL of the launcher's own instead of a SQLite file.
POSTGRES = Tracing("postgres", launcher_args=("--postgres",))
# `make cluster`'s shape, tracing on: two replicas of every service on PostgreSQL, three NATS
# nodes. One ghz per gateway replica loads both at once (tooling/bench/fan_out.py); every hop
# behind them is spread round-robin over both replicas.
CLUSTER = Tracing("cluster", launcher_args=("--cluster",))


def bench_env(tracing: Tracing, workload: Workload, seed_file: Path) -> dict[str, str]:
    """Our environment without OTEL_* settings, the workload's customers (the harness frees the
    ports)."""
    return harness.without_otel(os.environ) | {
        "ACCOUNTS_SEED_FILE": str(seed_file),
        "GATEWAY_TOKENS": workload.tokens(),
        "SHUTDOWN_GRACE_SECONDS": "1",
        # The hot account's one customer sends every order, and a spread customer's orders can
        # bunch up: the per-customer limits would measure themselves, not the mesh.
        "GATEWAY_RATE_LIMIT_PER_SECOND": "0",
        "GATEWAY_MAX_IN_FLIGHT_PER_CUSTOMER": "1000",
        **tracing.env,
    }


@contextlib.contextmanager
def running_mesh(root: Path, tracing: Tracing, workload: Workload) -> Iterator[Mesh]:
    """The whole mesh in `tracing`'s shape under `root` with `workload`'s customers seeded,
    every service SERVING, until the block ends; then stopped (the launcher's output is quoted
    if it did not stop cleanly)."""
    root.mkdir(parents=True, exist_ok=True)
    seed_file = root / "accounts.json"
    seed_file.write_text(workload.seed_json())
    env = bench_env(tracing, workload, seed_file)
    with harness.running(root, tracing.launcher_args, env) as mesh:
        yield mesh
        code = mesh.interrupt()
        if code != 0:  # it had to kill a child that did not stop in time, or was killed itself
            say(f"the launcher stopped with code {code}:\n{mesh.output()[-800:]}")


def gateways(mesh: Mesh) -> list[str]:
    """Every gateway replica's address: the bench loads them all."""
    return [e.address for e in mesh.ready.replicas_of("gateway")]
