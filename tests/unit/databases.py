"""A real in-process SQLite database per test, and readers for what handlers left in it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import Message

from mesh.database import Database
from mesh.jetstream import subject_for

M = TypeVar("M", bound=Message)


@asynccontextmanager
async def open_database(directory: Path, schema: str) -> AsyncIterator[Database]:
    database = Database(directory / "service.sqlite3", schema)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


async def deliver(
    database: Database, handler: Callable[[sqlite3.Connection, M], None], event: M
) -> None:
    """Apply an event the way a consumer does: inside one transaction."""
    await database.transact(lambda c: handler(c, event))


async def outbox_ids(database: Database) -> list[str]:
    rows = await database.transact(
        lambda c: c.execute("SELECT event_id FROM outbox ORDER BY seq").fetchall()
    )
    return [row["event_id"] for row in rows]


async def outbox_events(database: Database, kind: type[M]) -> list[M]:
    """The stored events of one kind, decoded, oldest first."""
    subject = subject_for(kind.DESCRIPTOR.name)
    rows = await database.transact(
        lambda c: c.execute(
            "SELECT payload FROM outbox WHERE subject = ? ORDER BY seq", (subject,)
        ).fetchall()
    )
    return [kind.FromString(row["payload"]) for row in rows]
