"""A real nats-server with JetStream for tests: free 127.0.0.1 port, store under tmp_path."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from tests.support.servers.processes import (
    free_port,
    log_tail,
    start_process,
    stop_process,
    wait_for_port,
)
from tooling.launcher.nats_auth import write_config

NATS_BINARY = REPO_ROOT / ".tools" / "bin" / "nats-server"
START_TIMEOUT_SECONDS = 15.0


class NatsServer:
    """One nats-server -js process; stop() and start() again keep the same port and store.

    With `certs_dir` it is the mesh's NATS: TLS only, one user per service (as `make run` has it).
    """

    def __init__(
        self,
        port: int,
        store_dir: Path,
        log_path: Path,
        certs_dir: Path | None = None,
        cluster_args: Sequence[str] = (),
    ) -> None:
        self.port = port
        self.cluster_args = list(cluster_args)  # a cluster node's name, routes and cluster port
        self.store_dir = store_dir
        self.log_path = log_path
        self.certs_dir = certs_dir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'nats' if self.certs_dir is None else 'tls'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        if self.running:
            return
        args = [
            str(NATS_BINARY),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-sd",
            str(self.store_dir),
        ]
        if self.certs_dir is not None:
            config = write_config(self.store_dir.parent / "nats.json", self.certs_dir)
            args += ["-c", str(config)]
        args += self.cluster_args
        # Append so a restart keeps the earlier run's log too.
        with self.log_path.open("ab") as log:
            log.write(b"--- nats-server start ---\n")
        process = start_process(args, None, self.log_path.with_suffix(".current.log"))
        self._process = process
        try:
            wait_for_port("127.0.0.1", self.port, START_TIMEOUT_SECONDS, process)
        except (TimeoutError, RuntimeError) as error:
            stop_process(process)
            pytest.fail(
                f"nats-server did not start: {error}\n{log_tail(self._current_log)}",
                pytrace=False,
            )

    def kill(self) -> None:
        """Kill -9, as a crash: no goodbye to the cluster (the store dir stays)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self.stop()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); the store dir stays for a restart."""
        if self._process is None:
            return
        stop_process(self._process)
        self._process = None
        current = self._current_log
        if current.exists():
            with self.log_path.open("ab") as log:
                log.write(current.read_bytes())
            current.unlink()

    def log(self, lines: int = 30) -> str:
        """The last lines the server logged, for assertion messages."""
        if self._current_log.exists():
            return log_tail(self._current_log, lines)
        return log_tail(self.log_path, lines)

    @property
    def _current_log(self) -> Path:
        return self.log_path.with_suffix(".current.log")


@contextmanager
def run_nats(
    tmp_path: Path, name: str = "nats", certs_dir: Path | None = None
) -> Iterator[NatsServer]:
    """Run nats-server with JetStream on a free 127.0.0.1 port until the block ends.

    The JetStream store is `tmp_path/<name>-store`, the log `tmp_path/<name>.log`; with
    `certs_dir`, TLS and the mesh's users.
    """
    if not NATS_BINARY.exists():
        pytest.fail(f"{NATS_BINARY} is missing: run `make tools` first", pytrace=False)
    store_dir = tmp_path / f"{name}-store"
    store_dir.mkdir(parents=True, exist_ok=True)
    server = NatsServer(free_port(), store_dir, tmp_path / f"{name}.log", certs_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
