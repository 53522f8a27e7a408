"""Durable JetStream consumers that apply each event once: inbox row and effect in one commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import FetchTimeoutError, NotFoundError
from opentelemetry import trace
from opentelemetry.trace import Span

from mesh.background import BackgroundLoop
from mesh.events.bus import DEAD_LETTER_PREFIX, STREAM, EventBus
from mesh.events.codec import EventCodec, UnreadableEvent
from mesh.events.durables import durable_name, inbox_key
from mesh.events.metrics import ConsumerMetrics
from mesh.faults.in_force import FaultBook, InjectedFault
from mesh.storage.database import Database
from mesh.storage.unit_of_work import DatabaseUnavailable, UnitOfWork, placeholders
from tracing.messaging import start_consumer_span

log = logging.getLogger(__name__)

E = TypeVar("E")

# How long one pull request waits on the server for a message. A message is handed over as
# soon as it arrives, so this only sets how often an idle consumer asks again (once per expiry)
# and how late a consumer notices that the pull it waits on is gone without its connection
# dropping (a cluster's consumer leader lost; a dropped connection is noticed at once).
FETCH_SECONDS = 10.0
# How often a consumer looks again for its durable when the provisioner has not made it yet.
DURABLE_WAIT_SECONDS = 1.0
DURABLE_WAIT_LOG_SECONDS = 30.0


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """One event a service reacts to, and the handler that applies it: `handle(event, uow)`."""

    event: type[E]
    handle: Callable[[E, UnitOfWork], None]

    @property
    def name(self) -> str:
        return self.event.__name__


class PermanentFailure(Exception):
    """A message that can never be applied (it does not even parse): dead-letter it at once."""


@dataclass(frozen=True)
class _Route:
    """Where the messages of one subject of the durable go: the subscription that applies them,
    their inbox key and their metrics."""

    subscription: Subscription[Any]
    subject: str
    key: str  # processed_events.consumer: `<service>-<Event>` (mesh.events.durables)
    metrics: ConsumerMetrics


@dataclass(frozen=True)
class _Pending:
    """A fetched message that reads as an event, with its CONSUMER span already started."""

    msg: Msg
    event_id: str
    event: Any
    span: Span
    route: _Route


@dataclass(frozen=True)
class _Unreadable:
    """A fetched message that does not read as an event, with its CONSUMER span started too."""

    msg: Msg
    event_id: str
    why: PermanentFailure
    span: Span
    route: _Route | None  # None: a subject no subscription names


def _claim(uow: UnitOfWork, consumer: str, event_id: str) -> bool:
    """Record one event id in the inbox; False if it was there already."""
    inserted = uow.execute(
        "INSERT INTO processed_events (consumer, event_id, processed_at)"
        " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (consumer, event_id, time.time()),
    ).rowcount
    return inserted == 1


def _claim_all(uow: UnitOfWork, batch: Sequence[_Pending]) -> list[bool]:
    """Record every message's event id in the inbox in one statement; whether each is new. A
    message whose id was there already (a redelivery, or another replica got there first), or
    came earlier in this batch, is not, and changes nothing."""
    if len(batch) == 1:  # its rowcount costs less than a RETURNING row to read
        return [_claim(uow, batch[0].route.key, batch[0].event_id)]
    keys = [(pending.route.key, pending.event_id) for pending in batch]
    now = time.time()
    rows = uow.execute(
        "INSERT INTO processed_events (consumer, event_id, processed_at)"
        f" VALUES {placeholders(len(keys), 3)} ON CONFLICT DO NOTHING RETURNING consumer, event_id",
        [value for key in keys for value in (*key, now)],
    ).fetchall()
    new = {(row["consumer"], row["event_id"]) for row in rows}
    claimed = []
    for key in keys:
        claimed.append(key in new)
        new.discard(key)
    return claimed


class EventConsumer(BackgroundLoop):
    """Pulls every event the service subscribes to through its one durable consumer, named
    after the service and made by the provisioner (mesh.events.durables); each message goes to
    the subscription of its subject. Until the durable exists the consumer waits for it.

    For each fetched batch, in one transaction: skip a message whose event id is in
    processed_events, else apply it and record the id; then ack each. A crash before the ack
    redelivers a message whose effect is already committed, and the inbox row makes that a
    no-op. A message that fails `max_deliveries` times is published to
    simplebank.deadletter.<service>.<Event> and acked: it is delivered no more, yet never
    silently dropped (a database that is away does not count: the message waits for it).

    Replicas share the durable consumer, so JetStream hands each message to one of them; a
    redelivery that lands on another replica finds the inbox row and is a no-op. On PostgreSQL
    two replicas inserting the same inbox row at once cannot both succeed: the second waits for
    the first, then inserts nothing (or, SERIALIZABLE, conflicts and runs again to the same end).

    `lock_order` names the row a message's handler locks (for example its order's id): a batch
    is applied sorted by it, so two replicas' batches lock their rows in the same order and
    wait for each other instead of deadlocking. The sort is stable, so the events of one row
    are applied in the order they came.
    """

    def __init__(
        self,
        service: str,
        subscriptions: Sequence[Subscription[Any]],
        database: Database,
        bus: EventBus,
        codec: EventCodec,
        *,
        max_deliveries: int = 5,
        batch: int = 32,
        fetch_seconds: float = FETCH_SECONDS,
        lock_order: Callable[[Any], str] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.durable = durable_name(service)
        self.task_name = f"{self.durable}-events"
        self._routes: dict[str, _Route] = {}
        for subscription in subscriptions:
            subject = codec.subject(subscription.event)
            metrics = ConsumerMetrics(self.durable, subscription.name, subject)
            key = inbox_key(service, subscription.name)
            self._routes[subject] = _Route(subscription, subject, key, metrics)
        self.subjects = list(self._routes)  # the durable's filter_subjects
        self._database = database
        self._bus = bus
        self._codec = codec
        self._max_deliveries = max_deliveries
        self._batch = batch
        self._fetch_seconds = fetch_seconds
        self._lock_order = lock_order
        # Faults on this consumer's subjects, handed over by the ServiceHost when they are on.
        self.faults: FaultBook | None = None

    def _apply(self, uow: UnitOfWork, event_id: str, event: Any, route: _Route) -> bool:
        """Record the event id in the inbox and apply the event; False, changing nothing, if
        the id was there already (a redelivery, or another replica got there first)."""
        if not _claim(uow, route.key, event_id):
            return False
        route.subscription.handle(event, uow)
        return True

    async def process_batch(self, messages: Sequence[Msg]) -> None:
        """Apply a fetched batch in one transaction (in `lock_order` when the consumer has
        one), then ack them.

        One commit instead of one per message, and the acks only after it. A message whose
        handler fails is undone alone (the batch runs again, a savepoint per message), so the
        others still commit, and is redelivered or dead-lettered as always; so is one an
        injected fault fails (each message meets the faults once, before the transaction). If
        the transaction itself fails (the database is away) each message in it fails with it.
        A message that cannot be read meets neither the faults nor the transaction: it is
        dead-lettered, saying why.
        """
        fetched: list[_Pending | _Unreadable] = []
        try:
            ready: list[_Pending] = []
            refused: list[tuple[_Pending | _Unreadable, Exception]] = []
            for msg in messages:
                read = self._read(msg)
                fetched.append(read)
                if isinstance(read, _Unreadable):
                    refused.append((read, read.why))
                    continue
                subject = read.route.subject
                fault = None if self.faults is None else await self.faults.inject(subject)
                if fault is not None and fault.error_code:
                    refused.append((read, InjectedFault(fault)))
                else:
                    ready.append(read)
            if (lock_order := self._lock_order) is not None:
                ready.sort(key=lambda pending: lock_order(pending.event))
            started = time.perf_counter()
            outcomes = await self._apply_all(ready)
            seconds = time.perf_counter() - started
            for delivery, outcome in [*zip(ready, outcomes, strict=True), *refused]:
                await self._settle(delivery, outcome, seconds)
        finally:
            for delivery in fetched:  # cancelled: nothing acked
                if delivery.span.is_recording():
                    delivery.span.end()

    def _read(self, msg: Msg) -> _Pending | _Unreadable:
        """The message with its event, or why it has none; either way with a started span."""
        headers = msg.headers or {}
        event_id = headers.get("Nats-Msg-Id", "")
        span = start_consumer_span(msg.subject, event_id, headers)
        route = self._routes.get(msg.subject)
        if route is None:  # the durable was made over a subject this service does not read
            why = PermanentFailure(f"no subscription for subject {msg.subject}")
            return _Unreadable(msg, event_id, why, span, None)
        if not event_id:
            why = PermanentFailure("message has no Nats-Msg-Id header")
            return _Unreadable(msg, event_id, why, span, route)
        try:
            event = self._codec.decode(route.subscription.event, msg.data)
        except UnreadableEvent as error:
            return _Unreadable(msg, event_id, PermanentFailure(str(error)), span, route)
        return _Pending(msg, event_id, event, span, route)

    async def _apply_all(self, ready: Sequence[_Pending]) -> list[bool | Exception]:
        """Whether each message was applied (or a duplicate), or why it failed.

        First the whole batch in one go: nearly always every message applies, and a savepoint
        around each would cost two more statements a message (two round trips on PostgreSQL).
        If that fails, the transaction is rolled back and the batch runs again with a
        savepoint per message, so a message that fails undoes itself only. A batch of one needs
        no second run: its transaction is the message's. The database being away fails every
        message at once, as before.
        """
        if not ready:
            return []
        try:
            return await self._database.transact(lambda u: self._apply_together(u, ready))
        except DatabaseUnavailable as error:
            return [error] * len(ready)
        except Exception as error:
            if len(ready) == 1:
                return [error]
        try:
            return await self._database.transact(lambda u: self._apply_each(u, ready))
        except Exception as error:
            return [error] * len(ready)

    def _apply_together(self, uow: UnitOfWork, batch: Sequence[_Pending]) -> list[bool | Exception]:
        """The batch's event ids claimed in the inbox at once (one statement, not one a
        message), then each new message applied under its own span (so the events it records
        carry its trace), with no savepoint: a failure is raised as it is and undoes the whole
        transaction (a connection found dead on the way is the database's to handle, as for
        any work)."""
        outcomes: list[bool | Exception] = []
        for pending, claimed in zip(batch, _claim_all(uow, batch), strict=True):
            outcomes.append(claimed)
            if not claimed:
                continue
            failed: Exception | None = None
            with trace.use_span(pending.span, end_on_exit=False):
                try:
                    pending.route.subscription.handle(pending.event, uow)
                except Exception as error:
                    if self._database.retries(error):
                        raise
                    failed = error
            if failed is not None:
                raise failed  # outside the span, which records the failure when it is settled
        return outcomes

    def _apply_each(self, uow: UnitOfWork, batch: Sequence[_Pending]) -> list[bool | Exception]:
        """Each message under its own savepoint and its own span (so the events it records
        carry its trace); a failure undoes that message only and is handed back. A conflict
        the database resolves by running the transaction again is raised, so it does."""
        outcomes: list[bool | Exception] = []
        for pending in batch:
            with trace.use_span(pending.span, end_on_exit=False):
                uow.execute("SAVEPOINT event")
                try:
                    outcomes.append(
                        self._apply(uow, pending.event_id, pending.event, pending.route)
                    )
                except Exception as error:
                    if self._database.retries(error):
                        raise
                    uow.execute("ROLLBACK TO event")
                    outcomes.append(error)  # failed after the commit: redelivered, or dead
                uow.execute("RELEASE event")
        return outcomes

    async def _settle(
        self, delivery: _Pending | _Unreadable, outcome: bool | Exception, seconds: float
    ) -> None:
        """Ack a message applied (or found a duplicate), or fail it; its span ends here."""
        route = delivery.route
        with trace.use_span(delivery.span, end_on_exit=True):
            if isinstance(outcome, Exception):
                if route is not None:
                    route.metrics.processed("failed", seconds, outcome)
                await self._failed(delivery.msg, delivery.event_id, outcome, route)
                return
            delivery.span.set_attribute("simplebank.duplicate", not outcome)
        assert route is not None  # only a message with a subscription is applied
        route.metrics.processed("applied" if outcome else "duplicate", seconds)
        await self.acknowledge(delivery.msg)

    async def acknowledge(self, msg: Msg) -> None:
        """Ack after commit: only now may JetStream forget the message."""
        await msg.ack()

    async def _failed(
        self, msg: Msg, event_id: str, error: Exception, route: _Route | None
    ) -> None:
        deliveries = msg.metadata.num_delivered or 1
        # An injected fault is transient by definition: redelivered until the fault is
        # cleared, never dead-lettered (the fault would otherwise lose the event's effect).
        # So is the database being away: the message waits for it, however long.
        if isinstance(error, InjectedFault | DatabaseUnavailable):
            await msg.nak(delay=min(0.2 * 2**deliveries, 5.0))
            return
        if isinstance(error, PermanentFailure) or deliveries >= self._max_deliveries:
            event = msg.subject.rpartition(".")[2] if route is None else route.subscription.name
            subject = f"{DEAD_LETTER_PREFIX}{self.service}.{event}"
            headers = dict(msg.headers or {})
            headers.pop("Nats-Msg-Id", None)
            headers["Simplebank-Error"] = repr(error)[:500]
            headers["Simplebank-Event-Id"] = event_id
            log.error(
                "event dead-lettered",
                extra={"event_id": event_id, "subject": subject, "deliveries": deliveries},
                exc_info=error,
            )
            await self._bus.publish(subject, msg.data, headers)
            await msg.ack()
            if route is not None:
                route.metrics.dead_lettered()
            return
        log.warning(
            "event failed, will be redelivered",
            extra={"event_id": event_id, "deliveries": deliveries, "error": repr(error)},
        )
        await msg.nak(delay=min(0.2 * 2**deliveries, 5.0))

    async def _wait_for_durable(self, js: JetStreamContext) -> None:
        """Return once the provisioner has made the durable; say so while it has not."""
        said = float("-inf")
        while True:
            try:
                await js.consumer_info(STREAM, self.durable)
                return
            except NotFoundError:
                pass
            if time.monotonic() - said >= DURABLE_WAIT_LOG_SECONDS:
                log.warning(
                    "waiting for the durable consumer: run `python -m mesh.events.provision`",
                    extra={"consumer": self.durable, "stream": STREAM},
                )
                said = time.monotonic()
            await asyncio.sleep(DURABLE_WAIT_SECONDS)

    def _lag(self, pending: int) -> None:
        """The durable's backlog: one number for all its subjects, labelled with its name."""
        next(iter(self._routes.values())).metrics.lag(pending)

    async def _consume(self) -> None:
        js = await self._bus.jetstream()
        await self._wait_for_durable(js)
        subscription = await js.pull_subscribe_bind(durable=self.durable, stream=STREAM)
        while True:
            try:
                messages = await self._fetch(subscription)
            except (FetchTimeoutError, TimeoutError):
                self._lag(0)  # nothing was waiting for a whole pull
                continue
            except Exception as error:
                log.warning("fetch failed", extra={"consumer": self.durable, "error": repr(error)})
                await asyncio.sleep(0.5)
                continue
            if not messages:
                continue  # the connection was made again: pull anew
            self._lag(messages[-1].metadata.num_pending or 0)
            await self.process_batch(messages)

    async def _fetch(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        """The messages waiting, as soon as there is one; TimeoutError after `fetch_seconds`
        with none. Empty if the connection was made again meanwhile: the pull request waited
        on the server the connection left.

        nats-py 2.16's fetch could ask the server for idle heartbeats, but never acts on their
        absence, so a lost server is noticed by the connection instead. The fetch runs as a
        task of its own, so cancelling this consumer never lands inside it.
        """
        fetch = asyncio.ensure_future(subscription.fetch(self._batch, self._fetch_seconds))
        reconnected = asyncio.ensure_future(self._bus.reconnected())
        try:
            await asyncio.wait((fetch, reconnected), return_when=asyncio.FIRST_COMPLETED)
        finally:
            fetch.cancel()  # a no-op once it is done
            reconnected.cancel()
        return fetch.result() if fetch.done() and not fetch.cancelled() else []

    async def run(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer crashed, restarting", extra={"consumer": self.durable})
                await asyncio.sleep(1.0)
