"""The bare baseline: as many plain grpc.aio hops as PlaceSellOrder's synchronous path.

The mesh answers PlaceSellOrder through three servers (gateway -> orders -> accounts), so
the baseline chains three `tooling.bench.echo` processes (each with its own GIL, like the services).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from tooling.harness.ports import free_addr
from tooling.launcher.paths import REPO_ROOT

HOPS = 3
START_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class RunningBaseline:
    entry: str  # where the first hop listens
    pids: Mapping[str, int]


@contextlib.contextmanager
def running_baseline(log_dir: Path, hops: int = HOPS) -> Iterator[RunningBaseline]:
    """Start `hops` echo processes chained first to last; stop them all afterwards."""
    log_dir.mkdir(parents=True, exist_ok=True)
    addrs = [free_addr() for _ in range(hops)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "generated")]),
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for index, addr in enumerate(addrs):
            args = [sys.executable, "-m", "tooling.bench.echo", "--listen", addr]
            if index + 1 < hops:
                args += ["--next", addrs[index + 1]]
            name = f"hop{index + 1}"
            with (log_dir / f"{name}.log").open("wb") as log:
                processes[name] = subprocess.Popen(
                    args,
                    cwd=REPO_ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        for (name, process), addr in zip(processes.items(), addrs, strict=True):
            _wait_listening(name, process, addr)
        yield RunningBaseline(addrs[0], {name: p.pid for name, p in processes.items()})
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_listening(name: str, process: subprocess.Popen[bytes], addr: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with grpc.insecure_channel(addr) as channel:
        while True:
            try:
                grpc.channel_ready_future(channel).result(timeout=0.5)
                return
            except grpc.FutureTimeoutError:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"baseline {name} exited with {process.returncode}"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"baseline {name} did not listen on {addr} in time"
                    ) from None
