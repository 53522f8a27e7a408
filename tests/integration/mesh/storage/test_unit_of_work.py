"""The unit of work on both backends, the same assertions: events commit with the change or not
at all, rows answer by name and position, and `?` placeholders and `%` literals mean the same."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from tests.support.data.events import CODEC, SCHEMA, order_created
from tests.support.servers.postgres import database_location
from tests.unit.databases import open_at, outbox_ids
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(location: Path | str) -> AsyncIterator[Database]:
    async with open_at(location, SCHEMA, CODEC) as opened:
        yield opened


class Heard:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, events: Sequence[object]) -> None:
        self.count += 1


def place_two(uow: UnitOfWork) -> None:
    uow.add_event("o-1/OrderCreated", order_created("o-1"))
    uow.add_event("o-2/OrderCreated", order_created("o-2"))


async def test_events_commit_in_order_and_wake_the_listeners_once(database: Database) -> None:
    heard = Heard()
    database.on_events_committed(heard)

    await database.transact(place_two)
    await database.transact(lambda u: u.add_event("o-1/OrderCreated", order_created("o-1")))

    assert heard.count == 2
    assert await outbox_ids(database) == ["o-1/OrderCreated", "o-2/OrderCreated"]


async def test_a_rollback_keeps_neither_the_change_nor_its_events(database: Database) -> None:
    def change_then_fail(uow: UnitOfWork) -> None:
        uow.execute("INSERT INTO applied (order_id, applied_at) VALUES (?, ?)", ("o-1", 1.5))
        place_two(uow)
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await database.transact(change_then_fail)

    count = await database.transact(lambda u: u.execute("SELECT COUNT(*) FROM applied").fetchone())
    assert count[0] == 0
    assert await outbox_ids(database) == []


async def test_rows_answer_by_name_and_position_and_rowcount_counts(database: Database) -> None:
    def write(uow: UnitOfWork) -> int:
        cursor = uow.executemany(
            "INSERT INTO applied (order_id, applied_at) VALUES (?, ?)", [("o-1", 1.5), ("o-2", 2.5)]
        )
        return cursor.rowcount

    written = await database.transact(write)
    rows = await database.transact(
        lambda u: u.execute(
            "SELECT order_id, applied_at FROM applied WHERE order_id LIKE '%-%' ORDER BY order_id"
        ).fetchall()
    )

    assert written == 2
    assert [(r["order_id"], r[1]) for r in rows] == [("o-1", 1.5), ("o-2", 2.5)]
    assert rows[0].keys() == ["order_id", "applied_at"]


async def test_the_health_ping_answers(database: Database) -> None:
    assert await database.ping()


async def test_work_whose_caller_went_away_before_its_commit_is_rolled_back_on_postgresql(
    postgres: LocalPostgres, tmp_path: Path
) -> None:
    """On PostgreSQL work runs on a thread, so its caller can be cancelled halfway (its client
    went away, its deadline passed): the work then does not commit (nor retry), or a
    reservation could appear after the caller was told it failed and gave the shares back."""
    working, go_on = threading.Event(), threading.Event()

    def insert_then_wait(uow: UnitOfWork) -> None:
        uow.execute("INSERT INTO applied (order_id, applied_at) VALUES (?, ?)", ("o-1", 1.5))
        place_two(uow)
        working.set()
        go_on.wait(timeout=10)

    location = database_location("postgres", tmp_path, postgres)
    async with open_at(location, SCHEMA, CODEC) as database:
        call = asyncio.create_task(database.transact(insert_then_wait))
        assert await asyncio.to_thread(working.wait, 10), "the work never started"
        call.cancel()
        for _ in range(10):  # let the cancellation reach transact before the work goes on
            await asyncio.sleep(0)
        go_on.set()
        with pytest.raises(asyncio.CancelledError):
            await call

        count = await database.transact(
            lambda u: u.execute("SELECT COUNT(*) FROM applied").fetchone()
        )
        assert count[0] == 0
        assert await outbox_ids(database) == []
