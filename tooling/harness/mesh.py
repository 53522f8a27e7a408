"""A mesh on free ports: `make run` (tooling/run.py) as a process with every port moved to a free
one and a data folder of its own, known through its ready file, stopped as a person stops it.

Bench, chaos and the end-to-end tests start the mesh this one way: `running(root, flags)` for a
block, or `start` and `Mesh.stop` where a test stops it itself. Stopping is Ctrl-C (SIGINT to
the launcher's process group, as a terminal sends it); whatever is still alive after that is
killed, so nothing outlives its run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.topology import SERVICES
from tooling.harness.leftovers import alive, start_time_of
from tooling.harness.ports import mesh_on_free_ports
from tooling.harness.snapshot import sqlite_files
from tooling.launcher import database, ready_file
from tooling.launcher.children import die_with
from tooling.launcher.paths import REPO_ROOT
from tooling.launcher.ready_file import NotReady, Ready

LAUNCHER = REPO_ROOT / "tooling" / "run.py"
START_TIMEOUT_SECONDS = 60.0
CLUSTER_START_TIMEOUT_SECONDS = 120.0  # ten replicas, three NATS nodes, PostgreSQL's initdb
STOP_TIMEOUT_SECONDS = 30.0


class MeshStartError(RuntimeError):
    """The launcher gave up or took too long; the message holds the end of its output."""

    @property
    def port_clash(self) -> bool:
        """Someone else took a port between our choosing it and a child binding it."""
        return "already in use" in str(self) or "already taken" in str(self)


@dataclass(frozen=True)
class Mesh:
    """A running `make run`: the launcher process, the ports it was given, its ready file."""

    root: Path
    process: subprocess.Popen[bytes]
    ports: Mapping[str, str]  # the variables that placed it
    ready: Ready  # as it was when the mesh first became ready
    ready_seconds: float  # from spawning the launcher to its ready file: imports included
    start_times: Mapping[int, str]

    @property
    def ready_path(self) -> Path:
        return self.root / "ready.json"

    @property
    def output_path(self) -> Path:
        return self.root / "launcher.log"

    def current(self) -> Ready:
        """The ready file as the launcher keeps it now: new pids after it restarted children."""
        return ready_file.read(self.ready_path)

    @property
    def gateway(self) -> str:
        return self.ready.gateway

    @property
    def services(self) -> list[str]:
        return list(self.ready.services)

    def address(self, service: str) -> str:
        return self.ready.services[service].address

    @property
    def jaeger_url(self) -> str:
        assert self.ready.jaeger is not None, "this mesh runs without Jaeger"
        return self.ready.jaeger.query_url

    @property
    def data_dir(self) -> Path:
        return self.ready.data_dir

    @property
    def clustered(self) -> bool:
        return len(self.current().nats_nodes) > 1

    def databases(self) -> dict[str, Path | str]:
        """Where each stateful service keeps its state: SQLite files, or PostgreSQL's URLs."""
        postgres = self.current().postgres
        if postgres is None:
            return sqlite_files(self.data_dir)
        return dict(database.saved_urls(self.data_dir, postgres.address))

    @property
    def metrics_addrs(self) -> list[str]:
        """Every service replica's Prometheus page (host:port; /metrics), as placed on free
        ports; nothing answers there when the mesh runs without metrics."""
        return [a for s in SERVICES for a in self.ports[s.metrics_variable].split(",")]

    def nats_monitors(self) -> list[str]:
        """The NATS nodes' monitoring addresses (/jsz), in a cluster."""
        return self.ports.get("NATS_MONITOR_ADDRS", "").split(",")

    @property
    def pids(self) -> dict[str, int]:
        """The launcher and every process it started, by name."""
        return {"launcher": self.ready.launcher_pid, **self.ready.pids}

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def said(self, lines: int = 10) -> str:
        """The launcher's own last lines, without the child logs it quotes (indented)."""
        own = [line for line in self.output().splitlines() if not line.startswith("    ")]
        return "\n".join(own[-lines:])

    def interrupt(self) -> int | None:
        """Ctrl-C, and the launcher's exit code; None if it did not exit in time (then
        everything is killed)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill_leftovers()
            return None

    def running(self) -> list[str]:
        """Names of the mesh's processes still alive (same pid and start time as when ready)."""
        return [name for name, pid in self.pids.items() if alive(pid, self.start_times[pid])]

    def stop(self) -> tuple[int | None, list[str]]:
        """Ctrl-C unless it has exited already; its exit code (None: it had to be killed) and
        what it left running, which is then killed."""
        code = self.process.poll()
        if code is None:
            code = self.interrupt()
        left = self.running()
        self.kill_leftovers()
        return code, left

    def kill_leftovers(self) -> None:
        """SIGKILL whatever is left: each child leads a process group of its own."""
        for name in self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pids[name], signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def without_otel(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` less its OTEL_* settings: the mesh's own defaults, not the caller's."""
    return {k: v for k, v in environment.items() if not k.startswith("OTEL_")}


def start(
    root: Path, flags: Sequence[str] = (), environment: Mapping[str, str] | None = None
) -> Mesh:
    """Start the launcher with its data under `root` and wait until every service is SERVING.

    It runs with `environment` (by default ours, as `make run` inherits it) and every port
    moved to a free one; `flags` go to the launcher: with `--cluster`, the ports of every
    replica and node move too. Raises MeshStartError, with nothing left running, if it fails.
    """
    cluster = "--cluster" in flags
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # a cluster's PostgreSQL runs as its own user, in <root>/data/postgres
    ports = mesh_on_free_ports(cluster)
    env = {**(os.environ if environment is None else environment), **ports}
    ready_path, output_path = root / "ready.json", root / "launcher.log"
    args = [sys.executable, str(LAUNCHER), "--data-dir", str(root / "data"), *flags]
    began = time.monotonic()
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            [*args, "--ready-file", str(ready_path)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Killed with us (a test's timeout kills -9): then its children die with it.
            preexec_fn=die_with(os.getpid()),
        )
    try:
        timeout = CLUSTER_START_TIMEOUT_SECONDS if cluster else START_TIMEOUT_SECONDS
        ready = ready_file.wait_for(ready_path, process, timeout)
    except NotReady as error:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        tail = output_path.read_text(errors="replace")[-3000:]
        raise MeshStartError(
            f"the mesh did not start: {error}; {output_path} ends with:\n{tail}"
        ) from None
    ready_seconds = time.monotonic() - began
    pids = [ready.launcher_pid, *ready.pids.values()]
    start_times = {pid: start_time_of(pid) or "gone" for pid in pids}
    return Mesh(root, process, ports, ready, ready_seconds, start_times)


@contextlib.contextmanager
def running(
    root: Path, flags: Sequence[str] = (), environment: Mapping[str, str] | None = None
) -> Iterator[Mesh]:
    """The mesh of `start` until the block ends, then stopped, whatever happened in it."""
    mesh = start(root, flags, environment)
    try:
        yield mesh
    finally:
        mesh.stop()
