"""The mesh chaos runs against: `scripts/run.py` (or its `--cluster` shape) on free loopback
ports, a fresh data folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.ports import mesh_on_free_ports
from scripts.launcher import database, ready_file
from scripts.launcher.children import die_with
from scripts.launcher.paths import REPO_ROOT
from scripts.launcher.ready_file import Ready
from tests.support.data.snapshot import sqlite_files

START_TIMEOUT_SECONDS = 60.0
CLUSTER_START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ChaosMesh:
    root: Path
    ready_path: Path
    launcher: subprocess.Popen[bytes]
    ports: Mapping[str, str] = field(default_factory=dict)  # the variables that placed it

    def current(self) -> Ready:
        """Addresses and the pids as they are now: the launcher rewrites them on restarts."""
        return ready_file.read(self.ready_path)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def clustered(self) -> bool:
        return len(self.current().nats_nodes) > 1

    def databases(self) -> dict[str, Path | str]:
        """Where each stateful service keeps its state: SQLite files, or PostgreSQL's URLs."""
        postgres = self.current().postgres
        if postgres is None:
            return sqlite_files(self.data_dir)
        return dict(database.saved_urls(self.data_dir, postgres.address))

    def nats_monitors(self) -> list[str]:
        """The NATS nodes' monitoring addresses (/jsz), in a cluster."""
        return self.ports.get("NATS_MONITOR_ADDRS", "").split(",")

    @property
    def launcher_output(self) -> Path:
        return self.root / "launcher.log"


@contextlib.contextmanager
def running_mesh(root: Path, cluster: bool = False) -> Iterator[ChaosMesh]:
    """The demo data (what the invariants expect), no tracing or watchers: chaos needs the mesh
    and its databases only, and the machine's two cores for the load. `cluster`: two replicas
    of each service on PostgreSQL and three NATS nodes (`make cluster`)."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # PostgreSQL's user reaches its folder in <root>/data (scripts/postgres.py)
    ready_path = root / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    ports = mesh_on_free_ports(cluster)
    env |= ports | {"SHUTDOWN_GRACE_SECONDS": "1", "OPS_FAULTS_ENABLED": "true"}
    args = [sys.executable, str(REPO_ROOT / "scripts" / "run.py"), "--data-dir", str(root / "data")]
    args += ["--ready-file", str(ready_path), "--no-tracing", "--no-observability"]
    args += ["--cluster"] if cluster else []
    with (root / "launcher.log").open("wb") as out:
        launcher = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # Killed with us (a test's timeout kills -9): then its children die with it.
            preexec_fn=die_with(os.getpid()),
        )
    try:
        timeout = CLUSTER_START_TIMEOUT_SECONDS if cluster else START_TIMEOUT_SECONDS
        ready_file.wait_for(ready_path, launcher, timeout)
        yield ChaosMesh(root, ready_path, launcher, ports)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGINT)
        try:
            launcher.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)  # its children die with it (PDEATHSIG)
            launcher.wait()
