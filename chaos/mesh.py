"""The mesh chaos runs against: `scripts/run.py` on free loopback ports, a fresh data folder."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.ports import mesh_on_free_ports
from scripts.launcher import ready_file
from scripts.launcher.paths import REPO_ROOT
from scripts.launcher.ready_file import Ready

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ChaosMesh:
    root: Path
    ready_path: Path
    launcher: subprocess.Popen[bytes]

    def current(self) -> Ready:
        """Addresses and the pids as they are now: the launcher rewrites them on restarts."""
        return ready_file.read(self.ready_path)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def launcher_output(self) -> Path:
        return self.root / "launcher.log"


@contextlib.contextmanager
def running_mesh(root: Path) -> Iterator[ChaosMesh]:
    """The demo data (what the invariants expect), no tracing or watchers: chaos needs the mesh
    and its databases only, and the machine's two cores for the load."""
    root.mkdir(parents=True, exist_ok=True)
    ready_path = root / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= mesh_on_free_ports() | {"SHUTDOWN_GRACE_SECONDS": "1", "OPS_FAULTS_ENABLED": "true"}
    args = [sys.executable, str(REPO_ROOT / "scripts" / "run.py"), "--data-dir", str(root / "data")]
    args += ["--ready-file", str(ready_path), "--no-tracing", "--no-observability"]
    with (root / "launcher.log").open("wb") as out:
        launcher = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        ready_file.wait_for(ready_path, launcher, START_TIMEOUT_SECONDS)
        yield ChaosMesh(root, ready_path, launcher)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGINT)
        try:
            launcher.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)  # its children die with it (PDEATHSIG)
            launcher.wait()
