"""The event side of the chassis for tests: a service's database, bus, relay and consumers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg

from mesh.events.bus import STREAM, EventBus, subject_for
from mesh.events.codec import EventCodec
from mesh.events.durables import provision_durable
from mesh.events.outbox import Outbox
from mesh.server import Component
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from mesh.topology import ServiceInfo
from simplebank.events.v1 import events_pb2
from tests.support.polling import poll_async

CONNECT_TIMEOUT_SECONDS = 10.0

# The effect the test handler has (the chassis adds its outbox and inbox tables).
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS applied"
    " (order_id TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL);"
)
ORDER_CREATED = subject_for("OrderCreated")


@dataclass(frozen=True)
class OrderCreated:
    """A test service's plain view of the contract's OrderCreated."""

    order_id: str
    account_id: str
    symbol: str
    quantity: int


CODEC = EventCodec(events_pb2, publishes=[OrderCreated], consumes=[OrderCreated])


def order_created(order_id: str) -> OrderCreated:
    return OrderCreated(order_id=order_id, account_id="acc-alice", symbol="AAPL", quantity=10)


def payload_of(event: OrderCreated) -> bytes:
    """The event as it travels: the contract's protobuf."""
    return CODEC.encode(event)[1]


def record_order(event: OrderCreated, uow: UnitOfWork) -> None:
    """The effect of applying an OrderCreated: one row per application."""
    uow.execute(
        "INSERT INTO applied (order_id, applied_at) VALUES (?, ?)", (event.order_id, time.time())
    )


def delivered(client: Client, event_id: str, event: OrderCreated, ack_subject: str) -> Msg:
    """An OrderCreated as a pull consumer receives it; acking it publishes to `ack_subject`
    through `client`."""
    headers = {"Nats-Msg-Id": event_id}
    return Msg(client, ORDER_CREATED, ack_subject, payload_of(event), headers)


async def applied(database: Database, order_id: str) -> int:
    """How many times the effect of an order's event was applied."""
    return await database.transact(
        lambda c: int(
            c.execute("SELECT COUNT(*) FROM applied WHERE order_id=?", (order_id,)).fetchone()[0]
        )
    )


async def store_event(database: Database, event_id: str, event: OrderCreated) -> None:
    """What a handler does: record the event in the outbox inside its unit of work."""
    await database.transact(lambda uow: uow.add_event(event_id, event))


@asynccontextmanager
async def running(*components: Component) -> AsyncIterator[None]:
    """Start components in order for the block; stop them in reverse, as ServiceHost does."""
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
        yield
    finally:
        for component in reversed(started):
            await component.stop()


@asynccontextmanager
async def connected_bus(url: str, name: str) -> AsyncIterator[EventBus]:
    """An EventBus that has connected and created the stream."""
    bus = EventBus(url, name)
    await bus.start()
    try:
        await asyncio.wait_for(bus.jetstream(), CONNECT_TIMEOUT_SECONDS)
        yield bus
    finally:
        await bus.stop()


async def provision_consumer(
    js: JetStreamContext,
    service: str,
    events: tuple[str, ...] = ("OrderCreated",),
    ack_wait: float = 1.0,
) -> None:
    """The durable the provisioner makes for a service reading `events` (mesh.events.durables);
    JetStream redelivers what it is not acked within `ack_wait` seconds."""
    await provision_durable(js, ServiceInfo(service, 0, 0, 0, consumes=events), ack_wait)


@asynccontextmanager
async def service_database(location: Path | str) -> AsyncIterator[Database]:
    """The test service's database at `location` (a SQLite file or a postgresql:// URL)."""
    database = Database(location, SCHEMA, Outbox(CODEC))
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


async def eventually(condition: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll `condition` until it holds; fail saying `what` did not happen."""
    await poll_async(condition, bool, within, what, interval=0.02)


async def last_message(js: JetStreamContext, subject: str) -> RawStreamMsg:
    return await js.get_last_msg(STREAM, subject)


async def stream_count(js: JetStreamContext, subject: str) -> int:
    """How many messages the stream holds on `subject`."""
    info = await js.stream_info(STREAM, subjects_filter=subject)
    subjects = info.state.subjects or {}
    return int(subjects.get(subject, 0))
