"""Transactional outbox: events are stored with the change that caused them, then relayed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from mesh.background import BackgroundLoop
from mesh.events.bus import EventBus
from mesh.events.codec import EventCodec
from mesh.events.metrics import OutboxMetrics
from mesh.storage.database import Database
from mesh.storage.unit_of_work import Row, UnitOfWork
from tracing.messaging import capture_context, producer_span

log = logging.getLogger(__name__)

RELAY_ROLE = "outbox-relay"
# Commits wake the relay (its own process's at once, other replicas' by NOTIFY on PostgreSQL);
# the poll only catches what a wake-up missed, such as a notification sent while the listener
# was reconnecting. 10 s bounds that rare delay while costing an idle relay three small queries
# per poll (leadership, the batch, the metric).
SAFETY_POLL_SECONDS = 10.0
# How often a replica that does not lead asks for the lead again. The leader's lock goes with its
# session, so when it stops or dies another replica leads within this (and relays at once). Each
# ask is a query through the pool: at rest, every 2 s, the followers' asks were a good part of
# the cluster's idle CPU.
TAKEOVER_SECONDS = 5.0
# After a failure (NATS or the database away), the first pause; it doubles up to 5 s.
FIRST_BACKOFF_SECONDS = 0.5
# Published rows are deleted by the relay's next read, in its transaction; with no next read
# coming (no commit woke the relay), after this long on their own. Under load that halves the
# relay's transactions; at rest it costs what deleting at once did.
FORGET_AFTER_SECONDS = 0.2


class Outbox:
    """Stores a service's plain events, encoded for the wire, in the transaction that made them.

    Each row keeps the trace context of the work that recorded it, so the relay's publish (and
    every consumer after it) continues that trace.
    """

    def __init__(self, codec: EventCodec) -> None:
        self._codec = codec

    def record(self, uow: UnitOfWork, event_id: str, event: object) -> None:
        subject, payload = self._codec.encode(event)
        uow.execute(
            "INSERT INTO outbox (event_id, subject, payload, trace_context, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (event_id, subject, payload, json.dumps(capture_context()), time.time()),
        )

    def trace_context(self) -> dict[str, str]:
        return capture_context()


def pending_count(uow: UnitOfWork) -> int:
    return int(uow.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


class OutboxRelay(BackgroundLoop):
    """Publishes stored events in order, deleting each once JetStream has acknowledged it.

    A crash between the publish and the delete publishes the event again on restart; JetStream
    drops that copy by its Nats-Msg-Id, and consumers ignore any that gets through. The
    database wakes the relay after every commit that added events, any replica's
    (`Database.hear_events_committed`); a slow poll is the fallback, so an idle relay is idle.

    With several replicas on PostgreSQL, only the leader relays (`Database.leads`: a session
    advisory lock; the others wait and take over when its session ends). One publisher reading
    in `seq` order gives the ordering that matters, per aggregate: a later event of the same
    order was written by a transaction that read the earlier one's commit, so it has the larger
    seq and the earlier one is visible (or gone, published) whenever the later one is. Events
    of unrelated transactions may commit out of seq order and be published in commit order;
    nothing depends on their relative order. Rows are deleted by their own seq, never "up to"
    one, so an earlier seq that commits late is never deleted unpublished, and in the
    transaction of the relay's next read (or within `FORGET_AFTER_SECONDS` on their own); a
    crash before that publishes them again, as above. While leadership
    changes hands two replicas may briefly both publish: the Nats-Msg-Id drops the copies.
    A replica that does not lead ignores wake-ups and asks for the lead every `takeover`
    seconds: the leader relays what it would have.
    """

    task_name = "outbox-relay"

    def __init__(
        self,
        database: Database,
        bus: EventBus,
        poll_interval: float = SAFETY_POLL_SECONDS,
        batch: int = 100,
        takeover: float = TAKEOVER_SECONDS,
    ) -> None:
        super().__init__()
        self._database = database
        self._bus = bus
        self._poll_interval = poll_interval
        self._takeover = takeover
        self._batch = batch
        self._wake = asyncio.Event()
        self._metrics = OutboxMetrics()
        self._measured_at = float("-inf")
        self._published: list[int] = []  # seqs published and not deleted yet
        database.on_events_committed(lambda _events: self.wake())

    def wake(self) -> None:
        """Something was committed to the outbox: look now rather than at the next poll."""
        self._wake.set()

    async def _next_batch(self, forget: list[int]) -> list[Row]:
        """Delete the rows `forget` (published already), then read the next batch: one
        transaction."""

        def work(c: UnitOfWork) -> list[Row]:
            _delete(c, forget)
            return c.execute(
                "SELECT seq, event_id, subject, payload, trace_context FROM outbox"
                " ORDER BY seq LIMIT ?",
                (self._batch,),
            ).fetchall()

        return await self._database.transact(work)

    async def _publish(self, row: Row) -> None:
        parent = json.loads(row["trace_context"])
        with producer_span(row["subject"], row["event_id"], parent) as (_, headers):
            headers["Nats-Msg-Id"] = row["event_id"]
            await self._bus.publish(row["subject"], bytes(row["payload"]), headers)

    async def _forget_published(self) -> None:
        """Delete the rows published so far, in a transaction of their own (kept to delete
        again if it fails)."""
        forget = self._published
        if forget:
            await self._database.transact(lambda c: _delete(c, forget))
            self._published = []

    async def relay_once(self) -> int:
        """Publish what is pending now, in order, and delete it; returns how many were
        published. A replica that does not lead publishes nothing."""
        published = await self._relay_if_leading() or 0
        await self._forget_published()
        return published

    async def _relay_if_leading(self) -> int | None:
        """Publish the next batch, deleting what the last one published first; None if this
        replica does not lead. The rows it publishes stay until the next call or
        `_forget_published`: a crash in between only publishes them again."""
        if not await self._database.leads(RELAY_ROLE):
            await self._forget_published()  # published while it led: theirs to delete still
            return None
        rows = await self._next_batch(self._published)  # a failed read deletes nothing
        self._published = []
        for row in rows:
            await self._publish(row)
            self._published.append(row["seq"])
        return len(rows)

    async def _measure(self) -> None:
        """Record how much waits, at most once a second (a query, off the hot path)."""
        now = time.monotonic()
        if now - self._measured_at < 1.0:
            return
        self._measured_at = now
        try:
            count, oldest = await self._database.transact(
                lambda u: tuple(
                    u.execute("SELECT COUNT(*), MIN(created_at) FROM outbox").fetchone()
                )
            )
        except Exception as error:  # the relay's own next read says more; keep relaying
            log.warning("outbox not measured", extra={"error": repr(error)})
            return
        self._metrics.waiting(count, 0.0 if oldest is None else max(time.time() - oldest, 0.0))

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._database.hear_events_committed(self.wake), name="commits")
            try:
                await self._relay_until_cancelled()
            finally:
                # Stopping: what was published goes now, or is published again after a start.
                with contextlib.suppress(Exception):
                    await self._forget_published()

    async def _relay_until_cancelled(self) -> None:
        first_backoff = min(self._poll_interval, FIRST_BACKOFF_SECONDS)
        backoff = first_backoff
        while True:
            await self._measure()
            # Cleared before reading: a commit from here on wakes the wait below at once.
            self._wake.clear()
            try:
                published = await self._relay_if_leading()
                backoff = first_backoff
            except Exception as error:
                log.warning("outbox relay waiting for NATS", extra={"error": repr(error)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published is None:
                await asyncio.sleep(self._takeover)
            elif published < self._batch:
                # Published rows wait for the next read to delete them, or this long.
                wait = FORGET_AFTER_SECONDS if self._published else self._poll_interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)


def _delete(uow: UnitOfWork, seqs: list[int]) -> None:
    """One statement for a batch's rows (at most a batch: the relay deletes before each read),
    where executemany would pipeline one DELETE a row."""
    if seqs:
        marks = ", ".join("?" * len(seqs))
        uow.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", seqs)
