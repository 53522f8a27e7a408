"""The SQLite backend: one file per service, one connection, every transaction BEGIN IMMEDIATE."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mesh.storage.unit_of_work import DatabaseUnavailable, EventRecorder, UnitOfWork
from mesh.storage.wal_checkpoint import WalCheckpointer

T = TypeVar("T")

# How long BEGIN IMMEDIATE waits for a write lock another process holds (the service's own
# connection is the file's only writer; the checkpointer's PASSIVE checkpoint never takes it).
# The wait blocks the event loop, so it is short: past it the transaction fails UNAVAILABLE and
# the loop goes on answering health probes (Python's default would block it 5 s per try).
LOCK_WAIT_SECONDS = 0.2

# The chassis' own tables, next to the service's: the outbox of events waiting for the relay,
# and the inbox of events already applied.
CHASSIS_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    payload BLOB NOT NULL,
    trace_context TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS processed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
"""


class SqliteEngine:
    """Runs work on one connection: BEGIN IMMEDIATE takes the write lock at once, so
    transactions never interleave, which is all the isolation a service's own file needs. One
    process per file: SQLite has no replicas.

    The work runs on the event loop itself, the one measured exception to "nothing blocking in
    async code" (STYLE.md): a service's transaction takes microseconds (~6 µs), and handing it
    to a worker thread and back cost 110-160 µs of CPU each, about 17 times per order
    (results/profiles/, and the commit that made this change). What can take milliseconds, the
    WAL checkpoint with its fsync, runs on a thread of its own (mesh.storage.wal_checkpoint).
    """

    on_event_loop = True
    workers = 0

    def __init__(self, path: Path | str, recorder: EventRecorder) -> None:
        self._path = str(path)
        self._recorder = recorder
        self._connection: sqlite3.Connection | None = None
        self._checkpointer: WalCheckpointer | None = None

    @property
    def where(self) -> str:
        return self._path

    def open(self, schema: str) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=LOCK_WAIT_SECONDS)
        # WAL: readers never wait for the writer. synchronous=NORMAL: a process crash loses
        # no committed transaction (only a power cut could lose the last few).
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.row_factory = sqlite3.Row
        connection.executescript(schema + CHASSIS_SCHEMA)
        self._connection = connection
        if self._path != ":memory:":
            # Commits never checkpoint on the loop; the checkpointer's thread does it.
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = WalCheckpointer(self._path)
            self._checkpointer.start()

    def run(
        self,
        work: Callable[[UnitOfWork], T],
        abandoned: threading.Event | None = None,
        read_only: bool = False,
    ) -> tuple[T, list[object]]:
        """Run `work` in one transaction; on the loop, so no caller is cancelled halfway and
        `abandoned` never applies. One transaction at a time is already one snapshot, so a
        read (`read_only`) runs the same way."""
        connection = self._connection
        if connection is None:
            raise RuntimeError(f"database {self._path} is not open")
        uow = UnitOfWork(connection, self._recorder)
        changes = connection.total_changes
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:  # "database is locked": held by another
            raise DatabaseUnavailable(f"database {self._path}: {error}") from error
        try:
            result = work(uow)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        if self._checkpointer is not None and connection.total_changes != changes:
            self._checkpointer.written()  # a read (the health check's, every second) wrote nothing
        return result, uow.events

    def retries(self, error: Exception) -> bool:
        """One writer at a time: a transaction never conflicts with another."""
        return False

    def leads(self, role: str) -> bool:
        """The one process on this file does every background job."""
        return True

    def still_leads(self, role: str) -> bool:
        return True

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
