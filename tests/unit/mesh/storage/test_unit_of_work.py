"""The unit of work: events commit with the change, and the relay hears of a commit at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from tests.support.data.events import CODEC, SCHEMA, order_created
from tests.unit.databases import open_database, outbox_ids


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path, SCHEMA, CODEC) as opened:
        yield opened


class Heard:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, events: Sequence[object]) -> None:
        self.count += 1


async def test_a_commit_that_added_events_wakes_the_listeners_once(database: Database) -> None:
    heard = Heard()
    database.on_events_committed(heard)

    def place_two(uow: UnitOfWork) -> None:
        uow.add_event("o-1/OrderCreated", order_created("o-1"))
        uow.add_event("o-2/OrderCreated", order_created("o-2"))

    await database.transact(place_two)

    assert heard.count == 1
    assert await outbox_ids(database) == ["o-1/OrderCreated", "o-2/OrderCreated"]


async def test_a_commit_without_events_or_a_rollback_wakes_nobody(database: Database) -> None:
    heard = Heard()
    database.on_events_committed(heard)

    def fail_after_adding(uow: UnitOfWork) -> None:
        uow.add_event("o-1/OrderCreated", order_created("o-1"))
        raise RuntimeError("the change failed")

    await database.transact(lambda uow: uow.execute("SELECT 1").fetchone())
    with pytest.raises(RuntimeError):
        await database.transact(fail_after_adding)

    assert heard.count == 0
    assert await outbox_ids(database) == []


async def test_a_service_that_publishes_nothing_cannot_record_an_event(tmp_path: Path) -> None:
    async with open_database(tmp_path, SCHEMA) as database:
        with pytest.raises(TypeError, match="publishes no events"):
            await database.transact(lambda uow: uow.add_event("o-1/X", order_created("o-1")))
