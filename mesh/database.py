"""One SQLite database per service, used from one thread so the event loop never blocks on it."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from mesh.unit_of_work import CHASSIS_SCHEMA, EventRecorder, NoEvents, UnitOfWork

T = TypeVar("T")


class Database:
    """Runs every piece of work in a transaction on a single dedicated thread.

    One writer thread means transactions never interleave, which is all the concurrency a
    service's own database needs; the event loop only awaits the results.
    """

    def __init__(
        self, path: Path | str, schema: str, recorder: EventRecorder | None = None
    ) -> None:
        self._path = str(path)
        self._schema = schema + CHASSIS_SCHEMA
        self._recorder = recorder or NoEvents()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._connection: sqlite3.Connection | None = None
        self._listeners: list[Callable[[Sequence[object]], None]] = []

    def on_events_committed(self, listener: Callable[[Sequence[object]], None]) -> None:
        """Call `listener(events)` on the event loop after every commit that added events."""
        self._listeners.append(listener)

    def _open(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, isolation_level=None)
        # WAL: readers never wait for the writer. synchronous=NORMAL: a process crash loses
        # no committed transaction (only a power cut could lose the last few).
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.row_factory = sqlite3.Row
        connection.executescript(self._schema)
        self._connection = connection

    def _transact(self, work: Callable[[UnitOfWork], T]) -> tuple[T, list[object]]:
        connection = self._connection
        if connection is None:
            raise RuntimeError(f"database {self._path} is not open")
        uow = UnitOfWork(connection, self._recorder)
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(uow)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result, uow.events

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    async def stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    async def transact(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in one unit of work: its writes and events commit together or not at all.

        The caller's context (the current span) goes along, so recorded events carry it. After
        a commit that added events, the listeners (the outbox relay) hear of it.
        """
        context = contextvars.copy_context()
        result, events = await asyncio.get_running_loop().run_in_executor(
            self._executor, context.run, self._transact, work
        )
        if events:
            for listener in self._listeners:
                listener(events)
        return result

    async def ping(self) -> bool:
        """Health check: the database answers a query."""
        return await self.transact(lambda c: c.execute("SELECT 1").fetchone() is not None)

    def __repr__(self) -> str:
        return f"Database({self._path!r})"
