"""A service whose certificate or policy file is missing or unreadable stops at start, naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from tests.support.servers.processes import free_port
from tooling.cli import certs

pytestmark = pytest.mark.integration

START_TIMEOUT_SECONDS = 30.0


def start_accounts(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the accounts service until it exits (it must: nothing here is usable)."""
    environ = {
        **os.environ,
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'generated'}",
        "DATA_DIR": str(tmp_path / "data"),
        "ACCOUNTS_ADDR": f"127.0.0.1:{free_port()}",
        "ACCOUNTS_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        "OTEL_TRACES_EXPORTER": "none",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.accounts"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )


def test_a_missing_certificate_stops_the_service_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "no-certs"
    empty.mkdir()

    ran = start_accounts(tmp_path, MESH_CERTS_DIR=str(empty))

    assert ran.returncode == 2
    assert f"cannot read {empty / 'accounts.key'}: No such file or directory" in ran.stderr
    assert "make certs" in ran.stderr


def test_an_unreadable_certificate_stops_the_service_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    certs.ensure(folder)
    (folder / "accounts.crt").unlink()
    (folder / "accounts.crt").mkdir()  # a path that exists but cannot be read as a file

    ran = start_accounts(tmp_path, MESH_CERTS_DIR=str(folder))

    assert ran.returncode == 2
    assert f"cannot read {folder / 'accounts.crt'}: Is a directory" in ran.stderr


def test_a_key_that_does_not_belong_to_the_certificate_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    certs.ensure(folder)
    (folder / "accounts.key").write_bytes((folder / "orders.key").read_bytes())

    ran = start_accounts(tmp_path, MESH_CERTS_DIR=str(folder))

    assert ran.returncode == 2
    assert f"{folder / 'accounts.crt'} and {folder / 'accounts.key'} do not make a pair" in (
        ran.stderr
    )


def test_a_missing_policy_stops_the_service_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    certs.ensure(folder)
    policy = tmp_path / "authz.json"

    ran = start_accounts(tmp_path, MESH_CERTS_DIR=str(folder), AUTHZ_POLICY=str(policy))

    assert ran.returncode == 2
    assert f"cannot read the policy file {policy}: No such file or directory" in ran.stderr
