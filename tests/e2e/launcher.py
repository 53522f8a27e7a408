"""`make run` for tests: scripts/run.py as a process on free ports, known through its ready file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from bench.ports import mesh_on_free_ports
from scripts.launcher import ready_file
from scripts.launcher.ready_file import NotReady, Ready
from tests.e2e.commands import Ran, grpcurl, grpcurl_as_operator
from tests.e2e.leftovers import alive, start_time_of
from tests.support import REPO_ROOT
from tests.support.data.customer import Customer
from tests.support.servers.processes import log_tail, start_process, stop_process

RUN_SCRIPT = REPO_ROOT / "scripts" / "run.py"
READY_TIMEOUT_SECONDS = 60.0
CLUSTER_READY_TIMEOUT_SECONDS = 120.0  # ten replicas, three NATS nodes, PostgreSQL's initdb
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LaunchedMesh:
    """A running `make run`: the launcher process, the ports it was given, its ready file."""

    process: subprocess.Popen[bytes]
    output_path: Path
    ports: Mapping[str, str]
    ready: Ready
    start_times: Mapping[int, str]
    ready_path: Path

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

    def grpcurl(self, service: str, *args: str, flags: Sequence[str] = ()) -> Ran:
        """grpcurl as a person runs it: plaintext to the gateway, as the operator elsewhere;
        `flags` (such as `-d`) go before the address, `args` after it."""
        command = (*flags, self.address(service), *args)
        if service == "gateway":
            return grpcurl(*command)
        return grpcurl_as_operator(self.data_dir / "certs", *command)

    @property
    def pids(self) -> dict[str, int]:
        """The launcher and every process it started, by name."""
        return {"launcher": self.ready.launcher_pid, **self.ready.pids}

    @contextmanager
    def customer(self, token: str, account_id: str) -> Iterator[Customer]:
        """A client of the gateway calling with `authorization: Bearer <token>`."""
        with grpc.insecure_channel(self.gateway) as channel:
            yield Customer(channel, f"Bearer {token}", account_id)

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def said(self, lines: int = 10) -> str:
        """The launcher's own last lines, without the child logs it quotes (indented)."""
        own = [line for line in self.output().splitlines() if not line.startswith("    ")]
        return "\n".join(own[-lines:])

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the launcher's process group, as a terminal sends it; the exit code.

        If the launcher does not exit in time, everything is killed and the test fails.
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill_leftovers()
            pytest.fail(f"the launcher did not stop within {STOP_TIMEOUT_SECONDS}s", pytrace=False)

    def running(self) -> list[str]:
        """Names of the mesh's processes still alive (same pid and start time as when ready)."""
        return [name for name, pid in self.pids.items() if alive(pid, self.start_times[pid])]

    def stop(self) -> tuple[int, list[str]]:
        """Ctrl-C unless it has exited already; its exit code and what it left running."""
        code = self.process.poll()
        if code is None:
            code = self.interrupt()
        left = self.running()
        self.kill_leftovers()
        return code, left

    def kill_leftovers(self) -> None:
        """SIGKILL whatever is left, so a failed test does not leave processes behind."""
        for name in self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pids[name], signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def start_launcher(root: Path, flags: Sequence[str] = ()) -> LaunchedMesh:
    """Start scripts/run.py with tracing on, its data under `root`, and wait until it is ready.

    Like `make run` it inherits this process's environment; only the ports are moved. `flags`
    go to the launcher: with `--cluster`, the ports of every replica and node move too.
    """
    cluster = "--cluster" in flags
    ports = mesh_on_free_ports(cluster)
    ready_path = root / "ready.json"
    output_path = root / "launcher.log"
    args = [sys.executable, str(RUN_SCRIPT), "--data-dir", str(root / "data"), *flags]
    process = start_process([*args, "--ready-file", str(ready_path)], ports, output_path)
    try:
        timeout = CLUSTER_READY_TIMEOUT_SECONDS if cluster else READY_TIMEOUT_SECONDS
        ready = ready_file.wait_for(ready_path, process, timeout)
    except NotReady as error:
        stop_process(process, STOP_TIMEOUT_SECONDS)
        pytest.fail(f"make run was not ready: {error}\n{log_tail(output_path)}", pytrace=False)
    pids = [ready.launcher_pid, *ready.pids.values()]
    start_times = {pid: start_time_of(pid) or "gone" for pid in pids}
    return LaunchedMesh(process, output_path, ports, ready, start_times, ready_path)


@contextmanager
def launched_mesh(root: Path, flags: Sequence[str] = ()) -> Iterator[LaunchedMesh]:
    """`make run` until the block ends, then Ctrl-C, which must stop it with exit code 0."""
    mesh = start_launcher(root, flags)
    try:
        yield mesh
    except BaseException:
        mesh.stop()
        raise
    code, left = mesh.stop()
    assert code == 0, f"make run exited with {code}:\n{mesh.said()}"
    assert not left, f"still running after make run stopped: {left}"
