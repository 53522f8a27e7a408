"""A real service database per test (SQLite in unit tests), and readers for what handlers left
in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import Message

from mesh.events.bus import subject_for
from mesh.events.codec import EventCodec
from mesh.events.outbox import Outbox
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork

E = TypeVar("E")
M = TypeVar("M", bound=Message)


@asynccontextmanager
async def open_database(
    directory: Path, schema: str, codec: EventCodec | None = None
) -> AsyncIterator[Database]:
    """The service's database as its bootstrap builds it, in a SQLite file in `directory`."""
    async with open_at(directory / "service.sqlite3", schema, codec) as database:
        yield database


@asynccontextmanager
async def open_at(
    location: Path | str, schema: str, codec: EventCodec | None = None
) -> AsyncIterator[Database]:
    """The service's database at `location` (a file or a postgresql:// URL), with its outbox
    when it publishes."""
    outbox = None if codec is None else Outbox(codec)
    database = Database(location, schema, outbox)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


async def deliver(database: Database, handler: Callable[[E, UnitOfWork], None], event: E) -> None:
    """Apply an event the way a consumer does: inside one unit of work."""
    await database.transact(lambda uow: handler(event, uow))


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
