"""A service's metrics port: served for Prometheus, and a bad or taken address stops the start
with a line naming the variable."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from tests.support.servers.processes import start_process, stop_process
from tooling.cli import certs
from tooling.harness.ports import free_addr

pytestmark = pytest.mark.integration

START_TIMEOUT_SECONDS = 20.0


def fees_env(tmp_path: Path, metrics_addr: str) -> dict[str, str]:
    certs.ensure(tmp_path / "certs")  # where fees looks for its certificate: $DATA_DIR/certs
    return {
        "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'generated'}",
        "FEES_ADDR": free_addr(),
        "FEES_METRICS_ADDR": metrics_addr,
        "NATS_URL": f"nats://{free_addr()}",  # nobody there: fees starts without NATS
        "DATA_DIR": str(tmp_path),
        "OTEL_TRACES_EXPORTER": "none",
    }


def run_fees_until_it_exits(tmp_path: Path, metrics_addr: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.fees"],
        env=fees_env(tmp_path, metrics_addr),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture
def taken_addr() -> Iterator[str]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield f"127.0.0.1:{holder.getsockname()[1]}"


def test_a_malformed_metrics_address_is_a_configuration_error_naming_the_variable(
    tmp_path: Path,
) -> None:
    result = run_fees_until_it_exits(tmp_path, "localhost-9464")

    assert result.returncode == 2
    assert "FEES_METRICS_ADDR='localhost-9464': expected host:port" in result.stderr


def test_a_taken_metrics_port_stops_the_start_saying_which(tmp_path: Path, taken_addr: str) -> None:
    result = run_fees_until_it_exits(tmp_path, taken_addr)

    assert result.returncode == 1
    assert f"FEES_METRICS_ADDR={taken_addr}: Address already in use" in result.stderr


def test_the_metrics_port_serves_the_prometheus_exposition(tmp_path: Path) -> None:
    metrics_addr = free_addr()
    process = start_process(
        [sys.executable, "-m", "services.fees"], fees_env(tmp_path, metrics_addr), tmp_path / "log"
    )
    try:
        text = wait_for_exposition(f"http://{metrics_addr}/metrics", process)
    finally:
        stop_process(process)

    assert "# TYPE simplebank_messages_dead_lettered_total counter" in text
    assert 'simplebank_messages_dead_lettered_total{consumer="fees",event="OrderPlaced"' in text
    assert 'service_name="fees"' in text


def wait_for_exposition(url: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"fees exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT_SECONDS}s")
