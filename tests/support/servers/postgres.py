"""A real PostgreSQL 15 for tests (tooling/launcher/postgres.py): started once, a fresh database
each."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mesh.topology import NAMES
from tests.support.servers.processes import log_tail
from tooling.harness import ports
from tooling.launcher.postgres import LocalPostgres, new_folder

BACKENDS = ("sqlite", "postgres")
STATEFUL = tuple(name for name in NAMES if name != "gateway")

_names = itertools.count(1)


@contextmanager
def run_postgres() -> Iterator[LocalPostgres]:
    """A server of its own in a private temp folder on a free loopback port, fsync off."""
    server = LocalPostgres(new_folder(), ports.free_port(), durable=False)
    try:
        server.init()
        server.start()
    except Exception:
        log = log_tail(server.log_path) if server.log_path.exists() else "(no log)"
        server.remove()
        pytest.fail(f"PostgreSQL did not start:\n{log}", pytrace=False)
    try:
        yield server
    finally:
        server.stop("immediate")
        server.remove()


def fresh_databases(server: LocalPostgres, services: tuple[str, ...] = NAMES) -> dict[str, str]:
    """A new role and database for each service, named apart from every earlier test's."""
    return server.provision(services, prefix=f"t{next(_names)}_")


def stateful_databases(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Each stateful service's DATABASE_URL on `backend` (none on SQLite), for a new mesh; the
    session's PostgreSQL server comes from the `postgres` fixture."""
    if backend == "sqlite":
        return {}
    server: LocalPostgres = request.getfixturevalue("postgres")
    return fresh_databases(server, STATEFUL)


def database_location(backend: str, tmp_path: Path, server: LocalPostgres | None) -> Path | str:
    """Where a test's service keeps its state: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        return tmp_path / "svc.sqlite3"
    assert server is not None
    return fresh_databases(server, ("svc",))["svc"]
