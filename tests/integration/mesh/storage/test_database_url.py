"""A service started with a DATABASE_URL it cannot use stops at once, in one line that names
the variable and the host: exit 2 for a malformed one, exit 1 for an unreachable server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from tests.support.servers.certs import mesh_certs
from tests.support.servers.processes import free_port

pytestmark = pytest.mark.integration

START_TIMEOUT_SECONDS = 30


def start_fees(database_url: str, certs_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MESH_CERTS_DIR": str(certs_dir),
        "FEES_ADDR": f"127.0.0.1:{free_port()}",
        "FEES_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "OTEL_TRACES_EXPORTER": "none",
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'generated'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.fees"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture
def certs_dir(tmp_path: Path) -> Path:
    return mesh_certs(tmp_path)


def test_a_malformed_database_url_fails_the_start_naming_the_variable_and_host(
    certs_dir: Path,
) -> None:
    finished = start_fees("postgresql://fees:secret@db.invalid:notaport/fees", certs_dir)

    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines()[-1] == (
        "fees: configuration error: DATABASE_URL (host db.invalid): expected"
        " postgresql://user:password@host:port/database, or unset for SQLite"
    )
    assert "secret" not in finished.stderr


def test_an_unreachable_database_fails_the_start_in_one_line_naming_the_variable_and_host(
    certs_dir: Path,
) -> None:
    port = free_port()  # nothing listens there
    finished = start_fees(f"postgresql://fees:secret@127.0.0.1:{port}/fees", certs_dir)

    assert finished.returncode == 1
    last = finished.stderr.strip().splitlines()[-1]
    assert last.startswith(f"fees: DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:{port}/fees")
    assert "secret" not in last
