"""A real VictoriaLogs for tests, started as `make run` starts it (tooling/launcher/parts_logs.py),
on a free loopback port; it can be stopped and started again on the same port and data."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers.processes import (
    free_port,
    log_tail,
    start_process,
    stop_process,
    wait_for_http,
)
from tooling.launcher import parts_logs

START_TIMEOUT_SECONDS = 30.0


@dataclass
class LogStore:
    addr: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.addr}"

    @property
    def shipping_env(self) -> dict[str, str]:
        """What a service needs to ship its records here."""
        return parts_logs.log_shipping_env(self.addr)

    def start(self) -> None:
        binary = Path(parts_logs.victorialogs_command(self.data_dir, self.addr)[0])
        if not binary.exists():
            pytest.fail(f"{binary} is missing: run `make tools` first", pytrace=False)
        command = parts_logs.victorialogs_command(self.data_dir, self.addr)
        self.process = start_process(command, {}, self.log_path)
        try:
            wait_for_http(
                parts_logs.victorialogs_ready_url(self.addr), START_TIMEOUT_SECONDS, self.process
            )
        except (TimeoutError, RuntimeError) as error:
            self.stop()
            pytest.fail(
                f"VictoriaLogs did not start: {error}\n{log_tail(self.log_path)}", pytrace=False
            )

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextmanager
def run_victorialogs(tmp_path: Path) -> Iterator[LogStore]:
    """VictoriaLogs on a free 127.0.0.1 port, its data under `tmp_path`, until the block ends."""
    store = LogStore(f"127.0.0.1:{free_port()}", tmp_path, tmp_path / "victorialogs.log")
    store.start()
    try:
        yield store
    finally:
        store.stop()
