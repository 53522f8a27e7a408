"""The PostgreSQL backend: a connection pool, READ COMMITTED writes that queue on row locks.

Several replicas of a service share one database. Under READ COMMITTED a plain read-modify-
write (load an account, change it, save it) could lose an update, so every write that depends
on what it read is made safe in one of two ways, and the stores say which at each place:
- a single guarded statement that the row's lock makes atomic (`INSERT ... ON CONFLICT DO
  NOTHING` and its rowcount, `UPDATE ... WHERE state = ?`, `DELETE ... WHERE attempt_id = ?`);
- a row lock taken before the read (`UnitOfWork.lock`, SELECT ... FOR UPDATE): a second
  writer of the same account or order waits for the first to commit, then reads its result.
Contention on a hot row therefore queues instead of aborting. SERIALIZABLE did the same job
with no locks to write, but every overlap on a hot account aborted and ran again (1,267
serialization failures for 218 orders in one benchmark, issue 24); no invariant here needs it.
Reads that answer a caller (`Database.read`) run REPEATABLE READ, READ ONLY: all their
statements see one snapshot, and a read-only transaction never fails to serialize.

Locks are taken in one order (a reserve attempt's row, then the account, then what the account
owns; an order's row before its history), so deadlocks need two transactions that touch two
accounts in opposite orders (a consumer's batch); PostgreSQL breaks such a cycle by aborting
one, which runs again from the start, as it would on any conflict. Work must therefore be safe
to run twice until it commits: it only reads and writes through the unit of work, which every
handler does. `simplebank.database.retries` counts every run again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool, PoolTimeout

from mesh.storage.notify import OUTBOX_NOTIFY
from mesh.storage.unit_of_work import DatabaseUnavailable, EventRecorder, UnitOfWork
from tracing.metrics import meter

log = logging.getLogger(__name__)

T = TypeVar("T")

_RETRIES = meter("simplebank.database").create_counter(
    "simplebank.database.retries",
    unit="{retry}",
    description="Transactions run again after a deadlock or serialization failure.",
)

POOL_SIZE = 4  # connections, and threads that use them: enough for two cores
CONNECT_TIMEOUT_SECONDS = 3
# How long a call waits for a connection before it fails UNAVAILABLE (the database is away).
CHECKOUT_TIMEOUT_SECONDS = 0.5
AWAY_CHECKOUT_TIMEOUT_SECONDS = 0.1
# Of one transaction that keeps meeting conflicts (deadlocks, with row locks in one order, are
# rare): past this, something is wrong, and the call fails UNAVAILABLE rather than spin.
MAX_ATTEMPTS = 10
RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)
# How long a leader trusts that it still holds its lock before asking its session again. Its
# session dying (the server restarted, the connection dropped) lets another replica lead; until
# this one asks, both may publish, which the relay allows for (Nats-Msg-Id drops the copies).
LEAD_CHECK_SECONDS = 1.0

CHASSIS_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    payload BYTEA NOT NULL,
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


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """The stores' `?` placeholders as psycopg's `%s` (and a literal `%` as `%%`).

    A `?` inside a quoted literal would be changed too, so it is refused instead; the stores
    have none (a test reads them all).
    """
    parts = sql.split("'")  # odd parts are inside quotes ('' inside a literal splits evenly)
    for inside in parts[1::2]:
        if "?" in inside:
            raise ValueError(f"a '?' inside a quoted literal cannot be translated: {sql!r}")
    return "'".join(
        part.replace("%", "%%") if n % 2 else part.replace("%", "%%").replace("?", "%s")
        for n, part in enumerate(parts)
    )


class NamedRow:
    """A row that answers to a column's name and to its position, as sqlite3.Row does."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str, /) -> Any:
        return self._values[key if isinstance(key, int) else self._index[key]]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"NamedRow({dict(zip(self._index, self._values, strict=True))!r})"


def named_rows(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], NamedRow]:
    """psycopg's row factory for NamedRow."""
    index = {column.name: n for n, column in enumerate(cursor.description or ())}
    return lambda values: NamedRow(values, index)


class PostgresStatements:
    """A psycopg connection as a unit of work uses it: SQL with `?` placeholders."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.driver = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self.driver.execute(to_pyformat(sql), tuple(parameters))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        many = [tuple(row) for row in rows]
        if len(many) == 1:  # most often: one plain statement costs less than a pipeline of one
            return self.execute(sql, many[0])
        cursor = self.driver.cursor()
        cursor.executemany(to_pyformat(sql), many)
        return cursor


def where(url: str) -> str:
    """host:port/database of a DATABASE_URL, without its credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def lock_key(role: str) -> int:
    """A stable signed 64-bit advisory lock key for a role name."""
    return int.from_bytes(hashlib.blake2b(role.encode(), digest_size=8).digest(), signed=True)


def _configure(connection: psycopg.Connection[Any]) -> None:
    """How every transaction begins unless it is a read: READ COMMITTED, writable. The pool
    calls it on a new connection and on each one given back (changing nothing after a write)."""
    if connection.read_only or connection.isolation_level != psycopg.IsolationLevel.READ_COMMITTED:
        connection.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        connection.read_only = None


def _snapshot_read(connection: psycopg.Connection[Any]) -> None:
    """How a read's transaction begins: its statements all see one snapshot, and read-only, it
    never has to run again. Both go in its BEGIN (psycopg writes them there), so it costs no
    round trip of its own; the pool's reset puts the connection back as `_configure` made it."""
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    connection.read_only = True


class StaleConnection(Exception):
    """A pooled connection turned out to be dead (the server restarted since its last use)
    before the transaction committed: nothing of it was applied, so it runs again on another."""


class TransactionAbandoned(Exception):
    """The caller of a transaction went away before it committed; it was rolled back."""


def _stop_if(abandoned: threading.Event | None) -> None:
    if abandoned is not None and abandoned.is_set():
        raise TransactionAbandoned("the caller went away before the commit")


class PostgresEngine:
    """Runs work on pooled connections, each transaction READ COMMITTED with row locks (or one
    snapshot, for a read) and run again after a deadlock; `leads` holds a session advisory lock
    so one replica at a time does a singleton job."""

    on_event_loop = False
    workers = POOL_SIZE

    def __init__(self, url: str, recorder: EventRecorder) -> None:
        self._url = url
        self._recorder = recorder
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            kwargs={"row_factory": named_rows, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
            # Every connection is made at start: growing the pool under load costs a login
            # (scram) each, just when calls are waiting.
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            open=False,
            configure=_configure,
            reset=_configure,
            # No check on checkout (a round trip per transaction, a fifth of all of them): a
            # connection found dead by its first statement is replaced and the work runs again.
            timeout=CHECKOUT_TIMEOUT_SECONDS,
            name="database",
        )
        self._away = False  # the last transaction found the server unreachable
        _RETRIES.add(0)  # born at zero: a benchmark reads "none" rather than "not measured"
        self._leader: psycopg.Connection[Any] | None = None
        self._led: dict[str, float] = {}  # role -> when its lock was last known held
        self._leader_lock = threading.Lock()

    @property
    def where(self) -> str:
        return where(self._url)

    def open(self, schema: str) -> None:
        """Create the tables (replicas starting together take turns) and fill the pool.

        An unreachable server fails here, in one line naming DATABASE_URL and the host.
        """
        try:
            with psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS) as setup:
                setup.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("schema"),))
                # The outbox's trigger tells other replicas' relays of its commits.
                setup.execute(schema + CHASSIS_SCHEMA + OUTBOX_NOTIFY)
        except psycopg.OperationalError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise ConnectionError(
                f"DATABASE_URL: cannot reach PostgreSQL at {self.where}: {first_line}"
            ) from None
        self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS * 2)

    def run(
        self,
        work: Callable[[UnitOfWork], T],
        abandoned: threading.Event | None = None,
        read_only: bool = False,
    ) -> tuple[T, list[object]]:
        """Run `work` in a transaction, again after each conflict; once the caller has gone
        (`abandoned` set), neither again nor to its commit. `read_only`: on one snapshot."""
        stale = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            _stop_if(abandoned)
            try:
                return self._run_once(work, abandoned, read_only)
            except StaleConnection as error:
                # Every pooled connection may have died with the server: one each, then a
                # new one; past that the server is away and the pool says so.
                stale += 1
                if stale > POOL_SIZE:
                    self._away = True
                    raise DatabaseUnavailable(
                        f"database {self.where} unavailable: {error.__cause__}"
                    ) from error
                log.info("connection found dead, again", extra={"error": repr(error.__cause__)})
            except RETRYABLE as conflict:
                if attempt == MAX_ATTEMPTS:
                    raise DatabaseUnavailable(
                        f"database {self.where}: the transaction kept conflicting: {conflict}"
                    ) from conflict
                _RETRIES.add(1)
                log.debug("transaction conflicted, again", extra={"error": repr(conflict)})
                time.sleep(random.uniform(0, min(0.001 * 2**attempt, 0.05)))
            except (psycopg.OperationalError, PoolTimeout) as error:
                self._away = True
                raise DatabaseUnavailable(f"database {self.where} unavailable: {error}") from error
        raise AssertionError("unreachable")

    def _run_once(
        self, work: Callable[[UnitOfWork], T], abandoned: threading.Event | None, read_only: bool
    ) -> tuple[T, list[object]]:
        # While the server is known to be away, a call fails at once instead of waiting out
        # its caller's deadline for a connection; the first success ends that.
        wait = AWAY_CHECKOUT_TIMEOUT_SECONDS if self._away else CHECKOUT_TIMEOUT_SECONDS
        with self._pool.connection(timeout=wait) as connection:
            try:
                if read_only:
                    _snapshot_read(connection)
                uow = UnitOfWork(PostgresStatements(connection), self._recorder, row_locks=True)
                result = work(uow)
            except psycopg.OperationalError as error:
                # Not committed: a dead session applied nothing, so the work may run again.
                if connection.broken:
                    raise StaleConnection(str(error)) from error
                raise
            _stop_if(abandoned)  # the pool rolls back a connection returned in a transaction
            connection.commit()
        self._away = False
        return result, uow.events

    def retries(self, error: Exception) -> bool:
        """A conflict that `run` answers by running the work again."""
        return isinstance(error, RETRYABLE)

    def still_leads(self, role: str) -> bool:
        """Whether this replica held `role`'s lock when it last asked, under a second ago: an
        answer without a query, so the caller need not hand it to a thread."""
        return time.monotonic() - self._led.get(role, float("-inf")) < LEAD_CHECK_SECONDS

    def leads(self, role: str) -> bool:
        """Whether this replica holds `role`'s lock, taking it if it is free.

        The lock belongs to a session of its own: it is released when this process stops or
        its connection drops, and then another replica takes it on its next try.
        """
        with self._leader_lock:
            try:
                return self._lead(role)
            except psycopg.OperationalError as error:
                if self._leader is not None:
                    self._leader.close()
                self._leader, self._led = None, {}
                raise DatabaseUnavailable(f"database {self.where} unavailable: {error}") from error

    def _lead(self, role: str) -> bool:
        if self._leader is None or self._leader.closed:
            self._leader = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
            self._led = {}
        if role in self._led:
            self._leader.execute("SELECT 1")  # still the same session, so still the lock's
            self._led[role] = time.monotonic()
            return True
        row = self._leader.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(role),))
        taken = row.fetchone()
        if taken is not None and taken[0]:
            self._led[role] = time.monotonic()
            log.info("leading", extra={"role": role})
        return role in self._led

    def close(self) -> None:
        self._pool.close()
        with self._leader_lock:
            if self._leader is not None:
                self._leader.close()
                self._leader = None
