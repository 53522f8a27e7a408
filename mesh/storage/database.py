"""A service's database behind one interface, on SQLite (the default) or PostgreSQL.

Handlers and stores see the same thing on both: `await database.transact(work)`, where `work`
is a plain function of a UnitOfWork that runs plain SQL. On PostgreSQL it runs on a small pool
of threads and connections, so the event loop never waits for the server. On SQLite it runs on
the event loop: a local transaction takes microseconds, far less than the thread handoff (see
mesh.storage.sqlite; its checkpoints run on a thread of their own). Keeping `work` synchronous
is what lets one interface serve both drivers (sqlite3 has no async API), keeps every store
readable SQL with no ORM in between, and lets PostgreSQL retry a transaction by simply calling
`work` again.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from mesh.storage.sqlite import SqliteEngine
from mesh.storage.unit_of_work import EventRecorder, NoEvents, UnitOfWork

T = TypeVar("T")


class Engine(Protocol):
    """One backend: opens the database, runs work in a transaction, elects a leader."""

    on_event_loop: bool  # its work runs on the loop itself, not on `workers` threads
    workers: int

    @property
    def where(self) -> str: ...

    def open(self, schema: str) -> None: ...

    def run(
        self,
        work: Callable[[UnitOfWork], T],
        abandoned: threading.Event | None = None,
        read_only: bool = False,
    ) -> tuple[T, list[object]]: ...

    def leads(self, role: str) -> bool: ...

    def still_leads(self, role: str) -> bool: ...

    def retries(self, error: Exception) -> bool: ...

    def close(self) -> None: ...


def is_postgres(location: Path | str) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


class Database:
    """Runs every piece of work in a transaction, on the backend's worker threads or its loop.

    `location` is a SQLite file's path, or a postgresql:// URL (DATABASE_URL). The schema is
    the service's tables in SQL both backends read; the backend adds the chassis' outbox and
    processed-events tables in its own dialect.
    """

    def __init__(
        self, location: Path | str, schema: str, recorder: EventRecorder | None = None
    ) -> None:
        recorder = recorder or NoEvents()
        if is_postgres(location):
            # Imported only here: psycopg and its pool add ~90 modules and MB of memory to
            # every service, which on SQLite (the default) never use them.
            from mesh.storage.postgres import PostgresEngine

            self._engine: Engine = PostgresEngine(str(location), recorder)
        else:
            self._engine = SqliteEngine(location, recorder)
        self._schema = schema
        self._url = str(location) if is_postgres(location) else None
        self._executor = (
            None
            if self._engine.on_event_loop
            else ThreadPoolExecutor(max_workers=self._engine.workers, thread_name_prefix="database")
        )
        self._listeners: list[Callable[[Sequence[object]], None]] = []

    def on_events_committed(self, listener: Callable[[Sequence[object]], None]) -> None:
        """Call `listener(events)` on the event loop after every commit that added events."""
        self._listeners.append(listener)

    async def hear_events_committed(self, heard: Callable[[], None]) -> None:
        """Call `heard()` on the event loop after commits that added events, other processes'
        too, until cancelled.

        On PostgreSQL other replicas write to the same outbox: their commits are heard through
        LISTEN/NOTIFY (mesh.storage.notify), on a connection of its own that is made again
        after the server restarts. On SQLite one process owns the file, so
        `on_events_committed` hears every commit already and there is nothing more to hear.
        """
        if self._url is None:
            await asyncio.get_running_loop().create_future()  # until cancelled
            return
        from mesh.storage.notify import OUTBOX_CHANNEL, CommitListener  # psycopg: see __init__

        await CommitListener(self._url, OUTBOX_CHANNEL, heard).run()

    async def start(self) -> None:
        await self._run(lambda: self._engine.open(self._schema))

    async def stop(self) -> None:
        await self._run(self._engine.close)
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def transact(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in one unit of work: its writes and events commit together or not at all.

        The caller's context (the current span) goes along, so recorded events carry it. After
        a commit that added events, the listeners (the outbox relay) hear of it. A caller that
        is cancelled still waits for the work to commit or roll back, so whatever it does next
        (such as checking whether an order was stored) sees the outcome; and work on a worker
        thread whose caller was cancelled (it went away, its deadline passed) is not committed
        unless it already was, nor tried again after a conflict: nobody waits for its answer,
        and its caller may already have undone it (orders gives back a reserve it gave up on).
        """
        result, events = await self._run_work(work, read_only=False)
        if events:
            for listener in self._listeners:
                listener(events)
        return result

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work`, which only reads, on one snapshot: all its statements see the same
        commits (a portfolio's cash and its positions from the same moment), and it waits for
        no writer's lock. Writing inside it is an error on PostgreSQL."""
        result, _ = await self._run_work(work, read_only=True)
        return result

    async def _run_work(
        self, work: Callable[[UnitOfWork], T], read_only: bool
    ) -> tuple[T, list[object]]:
        # Only work on a thread can outlive its caller; on the loop nothing needs the flag.
        abandoned = None if self._executor is None else threading.Event()
        return await self._run(lambda: self._engine.run(work, abandoned, read_only), abandoned)

    async def leads(self, role: str) -> bool:
        """Whether this replica is the one that does `role` (such as relaying the outbox).

        A leader that asked its database within the last second is answered at once: a busy
        relay asks before every batch, and each ask would cost a query on a thread."""
        if self._engine.still_leads(role):
            return True
        return await self._run(lambda: self._engine.leads(role))

    def retries(self, error: Exception) -> bool:
        """Whether `error`, raised inside work, makes the backend run the work again (a
        PostgreSQL deadlock broken by aborting this side) rather than fail it."""
        return self._engine.retries(error)

    async def ping(self) -> bool:
        """Health check: the database answers a query."""
        return await self.read(lambda c: c.execute("SELECT 1").fetchone() is not None)

    async def _run(self, call: Callable[[], T], abandoned: threading.Event | None = None) -> T:
        if self._executor is None:
            return call()  # on the loop: nothing can cancel it halfway
        context = contextvars.copy_context()
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(context.run, call)
        )
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if abandoned is not None:
                abandoned.set()
            await asyncio.wait([future])  # its outcome is the caller's to find out next
            if not future.cancelled():
                future.exception()  # seen: an abandoned transaction's error is expected
            raise

    def __repr__(self) -> str:
        return f"Database({self._engine.where!r})"
