"""One transaction as handlers and stores see it: their own tables, and the events it records."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

# The chassis' own tables, created in every service's database next to the service's tables:
# the outbox of events waiting for the relay, and the inbox of events already applied.
CHASSIS_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    payload BLOB NOT NULL,
    trace_context TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at REAL NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
"""


class EventRecorder(Protocol):
    """Writes a service's plain events into the outbox (the chassis' `mesh.outbox.Outbox`)."""

    def record(self, connection: sqlite3.Connection, event_id: str, event: object) -> None: ...

    def trace_context(self) -> dict[str, str]: ...


class NoEvents:
    """The recorder of a service that publishes nothing: recording is a programming error."""

    def record(self, connection: sqlite3.Connection, event_id: str, event: object) -> None:
        raise TypeError(f"this service publishes no events, yet recorded {event!r}")

    def trace_context(self) -> dict[str, str]:
        return {}


class UnitOfWork:
    """A transaction in progress: runs SQL, and records events that leave after the commit.

    Handlers never publish: they add events here, the outbox stores them with the change, and
    the database tells the relay after the commit (`Database.on_events_committed`).
    """

    def __init__(self, connection: sqlite3.Connection, recorder: EventRecorder) -> None:
        self._connection = connection
        self._recorder = recorder
        self.events: list[object] = []

    @property
    def connection(self) -> sqlite3.Connection:
        """The driver's own connection, for what SQL cannot say (tests install functions)."""
        return self._connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._connection.executemany(sql, rows)

    def add_event(self, event_id: str, event: object) -> None:
        """Store an event in this transaction; the relay publishes it once this commits.

        The event id is the Nats-Msg-Id, so it is derived from what happened (e.g.
        "<order_id>/OrderPlaced"): the same fact recorded twice is one event.
        """
        self._recorder.record(self._connection, event_id, event)
        self.events.append(event)

    def trace_context(self) -> dict[str, str]:
        """The trace this work belongs to, as W3C headers, for work that resumes it later."""
        return self._recorder.trace_context()
