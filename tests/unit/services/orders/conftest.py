"""An orders database, a fake accounts service and a commit counter, fresh for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mesh.storage.database import Database
from services.orders import store
from services.orders.messages import CODEC
from tests.unit.databases import open_database
from tests.unit.services.orders.fakes import Commits, FakeHoldings


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path, store.SCHEMA, CODEC) as database:
        yield database


@pytest.fixture
def holdings() -> FakeHoldings:
    return FakeHoldings()


@pytest.fixture
def commits(database: Database) -> Commits:
    commits = Commits()
    database.on_events_committed(commits)
    return commits
