"""Pooled connections that died while idle (the server restarted, an administrator ended the
sessions) are found by the first statement of the next transaction, which then runs again on a
fresh connection: the caller sees neither the dead connections nor its work applied twice."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import psycopg
import pytest

from mesh.storage.postgres import POOL_SIZE
from mesh.storage.unit_of_work import UnitOfWork
from tests.support.servers.postgres import fresh_databases
from tests.unit.databases import open_at
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration

SCHEMA = "CREATE TABLE IF NOT EXISTS notes (n BIGINT PRIMARY KEY);"


def end_sessions(server: LocalPostgres, database: str) -> int:
    """Terminate every session on `database`, as a restart would; how many there were."""
    with psycopg.connect(server.admin_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        ).fetchall()
    return len(ended)


def add_note(n: int) -> Callable[[UnitOfWork], None]:
    def work(uow: UnitOfWork) -> None:
        uow.execute("INSERT INTO notes VALUES (?)", (n,))

    return work


async def test_work_after_every_pooled_session_died_runs_once_on_a_fresh_one(
    postgres: LocalPostgres,
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    async with open_at(url, SCHEMA) as database:
        await database.transact(add_note(1))

        assert end_sessions(postgres, urlsplit(url).path.lstrip("/")) >= POOL_SIZE

        for n in range(2, 2 + POOL_SIZE + 1):  # each pooled connection met once, dead or new
            await database.transact(add_note(n))
        notes = await database.read(
            lambda u: [row[0] for row in u.execute("SELECT n FROM notes ORDER BY n")]
        )

    assert notes == list(range(1, 2 + POOL_SIZE + 1))
