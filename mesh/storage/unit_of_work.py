"""One transaction as handlers and stores see it: their own tables, and the events it records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from mesh.errors.kinds import Unavailable


def placeholders(rows: int, width: int) -> str:
    """`?` marks for a multi-row VALUES list ("(?, ?), (?, ?)"): one statement for several
    rows, where executemany would run one a row (a pipeline of them on PostgreSQL)."""
    return ", ".join(["(" + ", ".join("?" * width) + ")"] * rows)


class DatabaseUnavailable(Unavailable):
    """The service's own database cannot be reached now (say, PostgreSQL is restarting): the
    call fails UNAVAILABLE, and the same call may work in a moment."""

    reason = "DATABASE_UNAVAILABLE"


class Row(Protocol):
    """A result row on either backend: by column name (`row["cash"]`) or position (`row[0]`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What a statement returns on either backend (sqlite3's or psycopg's cursor)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Statements(Protocol):
    """A backend's connection inside a transaction: runs SQL written with `?` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Cursor: ...


class EventRecorder(Protocol):
    """Writes a service's plain events into the outbox (the chassis'
    `mesh.events.outbox.Outbox`)."""

    def record(self, uow: UnitOfWork, event_id: str, event: object) -> None: ...

    def trace_context(self) -> dict[str, str]: ...


class NoEvents:
    """The recorder of a service that publishes nothing: recording is a programming error."""

    def record(self, uow: UnitOfWork, event_id: str, event: object) -> None:
        raise TypeError(f"this service publishes no events, yet recorded {event!r}")

    def trace_context(self) -> dict[str, str]:
        return {}


class UnitOfWork:
    """A transaction in progress: runs SQL, and records events that leave after the commit.

    Handlers never publish: they add events here, the outbox stores them with the change, and
    the database tells the relay after the commit (`Database.on_events_committed`). The SQL is
    the same on SQLite and PostgreSQL (`?` placeholders, `ON CONFLICT`); the backend's
    connection translates what little differs.

    A read-modify-write locks what it is about to change first (`lock`): on PostgreSQL, where
    replicas write at once under READ COMMITTED, that is `SELECT ... FOR UPDATE`, and a second
    writer of the same row waits for the first to commit, then reads what it wrote. SQLite's
    BEGIN IMMEDIATE already gives one writer the whole file, so there the lock adds nothing.
    """

    def __init__(
        self, connection: Statements, recorder: EventRecorder, row_locks: bool = False
    ) -> None:
        self._connection = connection
        self._recorder = recorder
        self._lock_clause = " FOR UPDATE" if row_locks else ""
        self.events: list[object] = []

    @property
    def connection(self) -> Any:
        """The backend's own connection, for what SQL cannot say (tests install functions)."""
        return self._connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        return self._connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        return self._connection.executemany(sql, rows)

    def lock(self, select: str, parameters: Sequence[Any] = ()) -> Cursor:
        """Run a SELECT that locks the rows it finds until this transaction ends: another
        transaction that locks or changes them waits, then sees this one's commit."""
        return self._connection.execute(select + self._lock_clause, parameters)

    def add_event(self, event_id: str, event: object) -> None:
        """Store an event in this transaction; the relay publishes it once this commits.

        The event id is the Nats-Msg-Id, so it is derived from what happened (e.g.
        "<order_id>/OrderPlaced"): the same fact recorded twice is one event.
        """
        self._recorder.record(self, event_id, event)
        self.events.append(event)

    def trace_context(self) -> dict[str, str]:
        """The trace this work belongs to, as W3C headers, for work that resumes it later."""
        return self._recorder.trace_context()
