"""SIGTERM stops every service within its grace period, however long it has been running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers.mesh import (
    SERVICES,
    SHUTDOWN_DRAIN_SECONDS,
    SHUTDOWN_GRACE_SECONDS,
    Mesh,
    MeshOptions,
    run_mesh,
)
from tests.support.servers.processes import python_stacks

pytestmark = pytest.mark.integration

# Idle consumers poll JetStream once a second; a few polls is what a real run has behind it.
IDLE_SECONDS = 4.0
# Drain and grace are the service's to take; stopping the rest must not take much longer.
MAX_STOP_SECONDS = SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_GRACE_SECONDS + 1.0


@pytest.fixture
def mesh(tmp_path: Path, database_urls: dict[str, str]) -> Iterator[Mesh]:
    with run_mesh(tmp_path, MeshOptions(database_urls=database_urls)) as running:
        yield running


def test_every_service_stops_within_its_grace_period_after_idling(mesh: Mesh) -> None:
    time.sleep(IDLE_SECONDS)
    processes = {name: mesh.process(name) for name in SERVICES}

    started = time.monotonic()
    for process in processes.values():
        os.killpg(process.pid, signal.SIGTERM)
    exits: dict[str, int | str] = {}
    for name, process in processes.items():
        try:
            exits[name] = process.wait(max(started + MAX_STOP_SECONDS - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:  # what it is stuck in says why
            exits[name] = f"still running after {MAX_STOP_SECONDS}s"
            print(f"--- {name}, still running:\n{python_stacks(process.pid)}")

    assert exits == dict.fromkeys(SERVICES, 0), mesh.logs(lines=3)
