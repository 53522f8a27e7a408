"""Commits heard across replicas on PostgreSQL: the outbox NOTIFYs, and a listener LISTENs.

Every replica of a service writes to one outbox, and only the one leading the relay publishes
from it (mesh.events.outbox). Within a process the Database tells the relay of its own commits;
what another replica commits, PostgreSQL tells: a trigger on the outbox sends a notification,
which the server delivers only once the inserting transaction commits (and at most once per
transaction), so a relay woken by it always finds the rows. Nobody polls for them meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.pq.abc import PGconn

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "outbox_written"
CONNECT_TIMEOUT_SECONDS = 3
# How soon a listener that lost its connection (PostgreSQL restarting) tries again.
RECONNECT_SECONDS = 1.0
# TCP keepalives on the listening connection, which otherwise only ever reads: a server that
# vanished without closing it (a host gone) is noticed within about idle + count * interval.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}

# FOR EACH STATEMENT: one notification per INSERT, however many rows; PostgreSQL folds equal
# ones of a transaction into one. The function and trigger are replaced on every start, so
# replicas starting together (which take turns at the schema) leave one of each.
OUTBOX_NOTIFY = f"""
CREATE OR REPLACE FUNCTION outbox_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER outbox_written AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_written();
"""


class CommitListener:
    """LISTENs on `channel` over a connection of its own and calls `heard()` on the event loop
    for each notification, and once after every (re)connection: what was committed while
    nobody listened. Runs until cancelled; a lost connection is made again every
    RECONNECT_SECONDS.

    It waits on the event loop itself (psycopg's AsyncConnection, its socket as a reader: no
    thread, no polling), and cancelling the task is all it takes to stop it.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        heard: Callable[[], None],
        reconnect_seconds: float = RECONNECT_SECONDS,
    ) -> None:
        self._url = url
        self._channel = channel
        self._heard = heard
        self._reconnect_seconds = reconnect_seconds
        self._lost = False  # said once per outage, not once per attempt

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except psycopg.OperationalError as error:
                if not self._lost:
                    log.warning(
                        "not hearing commits; listening again once the database is back",
                        extra={"channel": self._channel, "error": str(error).strip()[:200]},
                    )
                self._lost = True
            await asyncio.sleep(self._reconnect_seconds)

    async def _listen(self) -> None:
        conninfo = make_conninfo(self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS, **KEEPALIVES)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
            await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            if self._lost:
                log.info("hearing commits again", extra={"channel": self._channel})
            self._lost = False
            self._heard()
            await self._hear(connection.pgconn)

    async def _hear(self, pgconn: PGconn) -> None:
        """Call `heard()` for what arrives on the connection, until it fails.

        Not psycopg's `notifies()`: its wait wakes every 0.1 s to look for an interrupt, ten
        loop rounds a second per listener. The connection's socket on the loop's selector
        wakes it only when the server sends something (libpq then reads it without blocking),
        or closes the connection (reading then fails: OperationalError).
        """
        loop, socket = asyncio.get_running_loop(), pgconn.socket
        readable = asyncio.Event()
        loop.add_reader(socket, readable.set)
        try:
            while True:
                await readable.wait()
                readable.clear()
                pgconn.consume_input()
                notified = False
                while pgconn.notifies() is not None:
                    notified = True
                if notified:
                    self._heard()
        finally:
            loop.remove_reader(socket)
