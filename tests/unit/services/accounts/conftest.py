"""An accounts database seeded with the demo accounts, fresh for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mesh.storage.database import Database
from services.accounts import store
from tests.unit.databases import open_database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path, store.SCHEMA) as database:
        await database.transact(store.seed_if_empty)
        yield database
