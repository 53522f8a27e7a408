"""Pooled connections that died while idle (the server restarted, an administrator ended the
sessions) are found by the first statement of the next transaction, which then runs again on a
fresh connection: the caller sees neither the dead connections nor its work applied twice. So
does an event whose connection dies under its handler: applied once, and acked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import nats
import psycopg
import pytest

from mesh.events.bus import EventBus
from mesh.events.consumer import EventConsumer, Subscription
from mesh.storage.postgres import POOL_SIZE
from mesh.storage.unit_of_work import UnitOfWork
from tests.support.data.events import (
    CODEC,
    OrderCreated,
    applied,
    delivered,
    order_created,
    record_order,
)
from tests.support.data.events import SCHEMA as EVENTS_SCHEMA
from tests.support.servers.nats import run_nats
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


async def test_an_event_whose_connection_dies_under_its_handler_is_applied_once_and_acked(
    postgres: LocalPostgres, tmp_path: Path
) -> None:
    url = fresh_databases(postgres, ("svc",))["svc"]
    runs: list[str] = []

    def end_own_session_once(event: OrderCreated, uow: UnitOfWork) -> None:
        """The connection dies between the transaction's start and the handler's statement,
        the first time only."""
        runs.append(event.order_id)
        if len(runs) == 1:
            uow.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        record_order(event, uow)

    async with open_at(url, EVENTS_SCHEMA, CODEC) as database:
        consumer = EventConsumer(
            "svc",
            [Subscription(OrderCreated, end_own_session_once)],
            database,
            EventBus("", "svc"),
            CODEC,
        )
        with run_nats(tmp_path) as server:
            client = await nats.connect(server.url)
            answers = await client.subscribe("$JS.ACK.>")
            reply = "$JS.ACK.SIMPLEBANK.svc.1.1.1.0.0"

            await consumer.process_batch([delivered(client, "e-1", order_created("o-1"), reply)])

            answer = await answers.next_msg(timeout=5)
            await client.close()
        count = await applied(database, "o-1")

    assert runs == ["o-1", "o-1"], "run again on a fresh connection, as any work is"
    assert count == 1
    assert answer.data == b"", f"acked, not failed: {answer.data!r}"
