"""The mesh under test: `scripts/run.py` on free ports with a fresh data folder and a ready file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.ports import mesh_on_free_ports
from bench.progress import say
from scripts.launcher import ready_file
from scripts.launcher.children import die_with
from scripts.launcher.ready_file import NotReady, Ready

REPO_ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = REPO_ROOT / "scripts" / "run.py"

# One customer with enough shares for any run: each PlaceSellOrder sells one share.
TOKEN = "bench-token"
ACCOUNT = "acc-bench"
SHARES = 100_000_000
START_TIMEOUT_SECONDS = 60.0
CLUSTER_START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


class MeshStartError(RuntimeError):
    """The launcher gave up; the message holds the end of its output."""

    @property
    def port_clash(self) -> bool:
        """Someone else took a port between our choosing it and a child binding it."""
        return "already in use" in str(self) or "already taken" in str(self)


@dataclass(frozen=True)
class Tracing:
    """How the services trace: the launcher's flags and the OTEL_* variables they get."""

    name: str
    launcher_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def cluster(self) -> bool:
        return "--cluster" in self.launcher_args


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
MESH_TLS_OFF = Tracing("mesh TLS off", env={"MESH_TLS": "off"})
# `make cluster`'s shape, tracing on: two replicas of every service on PostgreSQL, three NATS
# nodes. ghz calls the first gateway replica (it dials one address); every hop behind it is
# spread round-robin over both replicas.
CLUSTER = Tracing("cluster", launcher_args=("--cluster",))


@dataclass(frozen=True)
class RunningMesh:
    gateway: str
    pids: Mapping[str, int]  # every replica, NATS node, PostgreSQL, (with tracing) jaeger ...
    startup_seconds: float  # the launcher's own figure: from its start to all five SERVING
    ready_seconds: float  # from spawning the launcher to its ready file: imports included
    log_dir: Path


def bench_env(tracing: Tracing, seed_file: Path) -> dict[str, str]:
    """Our environment without OTEL_* settings, every port free, the bench customer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= mesh_on_free_ports(tracing.cluster)
    env |= {
        "ACCOUNTS_SEED_FILE": str(seed_file),
        "GATEWAY_TOKENS": f"{TOKEN}=bench:{ACCOUNT}",
        "SHUTDOWN_GRACE_SECONDS": "1",
        # One customer sends every order: the per-customer rate limit would measure itself.
        "GATEWAY_RATE_LIMIT_PER_SECOND": "0",
        **tracing.env,
    }
    return env


def write_seed(path: Path) -> None:
    path.write_text(
        json.dumps(
            [
                {
                    "account_id": ACCOUNT,
                    "customer_id": "bench",
                    "cash": 0,
                    "positions": {"AAPL": SHARES},
                }
            ]
        )
    )


@contextlib.contextmanager
def running_mesh(root: Path, tracing: Tracing) -> Iterator[RunningMesh]:
    """Start the whole mesh under `root`, yield once every service is SERVING, then stop it."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # a cluster's PostgreSQL runs as its own user, in <root>/data/postgres
    seed_file, ready_path, log = root / "accounts.json", root / "ready.json", root / "launcher.log"
    write_seed(seed_file)
    args = [sys.executable, str(LAUNCHER), "--data-dir", str(root / "data")]
    args += ["--ready-file", str(ready_path), *tracing.launcher_args]
    began = time.monotonic()
    with log.open("wb") as out:
        launcher = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=bench_env(tracing, seed_file),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Killed with us (a test's timeout kills -9): then its children die with it.
            preexec_fn=die_with(os.getpid()),
        )
    ready = None
    try:
        try:
            timeout = CLUSTER_START_TIMEOUT_SECONDS if tracing.cluster else START_TIMEOUT_SECONDS
            ready = ready_file.wait_for(ready_path, launcher, timeout)
        except NotReady as error:
            tail = log.read_text(errors="replace")[-3000:]
            raise MeshStartError(
                f"the mesh did not start: {error}; {log} ends with:\n{tail}"
            ) from None
        yield RunningMesh(
            gateway=ready.gateway,
            pids=ready.pids,
            startup_seconds=ready.startup_seconds,
            ready_seconds=time.monotonic() - began,
            log_dir=ready.log_dir,
        )
    finally:
        _stop(launcher, ready, log)


def _stop(launcher: subprocess.Popen[bytes], ready: Ready | None, log: Path) -> None:
    """SIGTERM the launcher, which stops its children in order; kill ours if it cannot."""
    if launcher.poll() is None:
        launcher.send_signal(signal.SIGTERM)
    try:
        code = launcher.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
    else:
        if code != 0:  # it had to kill a child that did not stop in time
            say(f"the launcher stopped with code {code}:\n{log.read_text(errors='replace')[-800:]}")
        return
    if ready is not None:
        # Each child leads a process group of its own, which a killed launcher leaves behind.
        for pid in ready.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
