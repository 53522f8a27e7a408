"""Fixtures for every integration test: the backend a service's database runs on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.postgres import LocalPostgres
from tests.support.servers.postgres import BACKENDS, database_location, run_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """One PostgreSQL server for the session, started by the first test that needs it."""
    with run_postgres() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs twice, on SQLite and on PostgreSQL, same assertions."""
    return str(request.param)


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """The service database of a test on `backend`: a new file, or a new PostgreSQL database."""
    server = request.getfixturevalue("postgres") if backend == "postgres" else None
    return database_location(backend, tmp_path, server)
