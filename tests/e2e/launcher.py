"""`make run` for tests: scripts/run.py as a process on free ports, known through its ready file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from mesh.config import DEFAULT_ADDRS
from tests.e2e.leftovers import alive, start_time_of
from tests.support.customer import Customer
from tests.support.processes import free_port, log_tail, start_process, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_SCRIPT = REPO_ROOT / "scripts" / "run.py"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
# The launcher names two of Jaeger's ports; config/jaeger.yaml reads the others from these too.
JAEGER_ADDRESS_VARIABLES = (
    "JAEGER_OTLP_GRPC_ADDR",
    "JAEGER_OTLP_HTTP_ADDR",
    "JAEGER_QUERY_ADDR",
    "JAEGER_QUERY_GRPC_ADDR",
    "JAEGER_HEALTH_ADDR",
)


def free_port_environment() -> dict[str, str]:
    """Every port the mesh opens, moved to a free one through the variables the launcher reads."""
    env = {f"{name.upper()}_ADDR": _free_address() for name in DEFAULT_ADDRS}
    env["NATS_URL"] = f"nats://{_free_address()}"
    env |= {variable: _free_address() for variable in JAEGER_ADDRESS_VARIABLES}
    env["JAEGER_METRICS_PORT"] = str(free_port())
    return env


@dataclass(frozen=True)
class LaunchedMesh:
    """A running `make run`: the launcher process, the ports it was given, its ready file."""

    process: subprocess.Popen[bytes]
    output_path: Path
    ports: Mapping[str, str]
    ready: Mapping[str, Any]
    start_times: Mapping[int, str]

    @property
    def gateway(self) -> str:
        return str(self.ready["gateway"])

    def address(self, service: str) -> str:
        return str(self.ready["services"][service]["address"])

    @property
    def jaeger_url(self) -> str:
        return str(self.ready["jaeger"]["query_url"])

    @property
    def data_dir(self) -> Path:
        return Path(self.ready["data_dir"])

    @property
    def pids(self) -> dict[str, int]:
        """The launcher and every process it started, by name."""
        return _pids(self.ready)

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


def start_launcher(root: Path) -> LaunchedMesh:
    """Start scripts/run.py with tracing on, its data under `root`, and wait until it is ready.

    Like `make run` it inherits this process's environment; only the ports are moved.
    """
    ports = free_port_environment()
    ready_file = root / "ready.json"
    output_path = root / "launcher.log"
    args = [sys.executable, str(RUN_SCRIPT), "--data-dir", str(root / "data")]
    process = start_process([*args, "--ready-file", str(ready_file)], ports, output_path)
    ready = _wait_for_ready_file(process, ready_file, output_path)
    start_times = {pid: start_time_of(pid) or "gone" for pid in _pids(ready).values()}
    return LaunchedMesh(process, output_path, ports, ready, start_times)


@contextmanager
def launched_mesh(root: Path) -> Iterator[LaunchedMesh]:
    """`make run` until the block ends, then Ctrl-C, which must stop it with exit code 0."""
    mesh = start_launcher(root)
    try:
        yield mesh
    except BaseException:
        mesh.stop()
        raise
    code, left = mesh.stop()
    assert code == 0, f"make run exited with {code}:\n{mesh.said()}"
    assert not left, f"still running after make run stopped: {left}"


def _wait_for_ready_file(
    process: subprocess.Popen[bytes], ready_file: Path, output_path: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process, STOP_TIMEOUT_SECONDS)
            pytest.fail(
                f"make run was not ready (exit code {process.returncode}):\n"
                f"{log_tail(output_path)}",
                pytrace=False,
            )
        time.sleep(0.05)
    facts: dict[str, Any] = json.loads(ready_file.read_text())
    return facts


def _pids(ready: Mapping[str, Any]) -> dict[str, int]:
    pids = {"launcher": int(ready["launcher_pid"]), "nats": int(ready["nats"]["pid"])}
    pids |= {name: int(facts["pid"]) for name, facts in ready["services"].items()}
    if ready["jaeger"] is not None:
        pids["jaeger"] = int(ready["jaeger"]["pid"])
    return pids


def _free_address() -> str:
    return f"127.0.0.1:{free_port()}"
