"""Outbox relay and durable consumers against a real nats-server, on SQLite and on PostgreSQL:
published once, applied once, dead-lettered when hopeless, and redeliveries after a crash change
nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from mesh.events.bus import DEAD_LETTER_PREFIX, STREAM, EventBus
from mesh.events.consumer import EventConsumer, Subscription
from mesh.events.durables import inbox_key
from mesh.events.outbox import OutboxRelay, pending_count
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from tests.support.data.events import (
    CODEC,
    ORDER_CREATED,
    OrderCreated,
    applied,
    connected_bus,
    eventually,
    last_message,
    order_created,
    payload_of,
    provision_consumer,
    record_order,
    running,
    service_database,
    store_event,
    stream_count,
)
from tests.support.servers.nats import NatsServer, run_nats

pytestmark = pytest.mark.integration

SERVICE = "svc"
TIMEOUT_SECONDS = 10.0
DEAD_LETTERS = f"{DEAD_LETTER_PREFIX}{SERVICE}.OrderCreated"
APPLY_ORDER = Subscription(OrderCreated, record_order)

INBOX_KEY = inbox_key(SERVICE, "OrderCreated")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with run_nats(tmp_path) as server:
        yield server


@pytest.fixture
async def database(location: Path | str) -> AsyncIterator[Database]:
    """The service's database, on each backend in turn (`location` is parametrized)."""
    async with service_database(location) as opened:
        yield opened


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[EventBus]:
    async with connected_bus(nats_server.url, SERVICE) as connected:
        yield connected


@pytest.fixture
async def js(bus: EventBus) -> JetStreamContext:
    """The stream's context, with the test service's durable made, as the provisioner would."""
    context = await bus.jetstream()
    await provision_consumer(context, SERVICE)
    return context


async def publish(bus: EventBus, event_id: str, event: OrderCreated) -> None:
    """Publish an event as the relay does, without going through an outbox."""
    await bus.publish(ORDER_CREATED, payload_of(event), {"Nats-Msg-Id": event_id})


async def outbox_size(database: Database) -> int:
    return await database.transact(pending_count)


async def test_the_relay_publishes_a_stored_event_with_its_event_id_as_nats_msg_id(
    database: Database, bus: EventBus, js: JetStreamContext
) -> None:
    event = order_created("o-1")
    await store_event(database, "o-1/OrderCreated", event)

    async with running(OutboxRelay(database, bus, poll_interval=0.05)):
        await eventually(lambda: outbox_size_is(database, 0), TIMEOUT_SECONDS, "the outbox emptied")

    message = await last_message(js, ORDER_CREATED)
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == "o-1/OrderCreated"
    assert CODEC.decode(OrderCreated, message.data or b"") == event
    assert await stream_count(js, ORDER_CREATED) == 1


async def outbox_size_is(database: Database, size: int) -> bool:
    return await outbox_size(database) == size


async def test_an_event_of_a_rolled_back_transaction_is_never_stored(database: Database) -> None:
    def place_then_fail(uow: UnitOfWork) -> None:
        uow.add_event("o-1/OrderCreated", order_created("o-1"))
        raise RuntimeError("the change failed after the event was added")

    with pytest.raises(RuntimeError):
        await database.transact(place_then_fail)

    assert await outbox_size(database) == 0


async def test_a_relay_that_publishes_an_event_again_after_a_crash_adds_no_copy(
    database: Database, bus: EventBus, js: JetStreamContext
) -> None:
    relay = OutboxRelay(database, bus)
    await store_event(database, "o-1/OrderCreated", order_created("o-1"))
    assert await relay.relay_once() == 1
    # As if the relay had died between JetStream's ack and deleting the row.
    await store_event(database, "o-1/OrderCreated", order_created("o-1"))

    assert await relay.relay_once() == 1

    assert await stream_count(js, ORDER_CREATED) == 1


async def test_jetstream_drops_a_second_publish_with_the_same_nats_msg_id(
    js: JetStreamContext,
) -> None:
    payload = payload_of(order_created("o-1"))
    headers = {"Nats-Msg-Id": "o-1/OrderCreated"}

    first = await js.publish(ORDER_CREATED, payload, headers=headers)
    second = await js.publish(ORDER_CREATED, payload, headers=headers)

    assert not first.duplicate
    assert second.duplicate
    assert second.seq == first.seq
    assert await stream_count(js, ORDER_CREATED) == 1


async def test_a_consumer_applies_a_relayed_event_once_and_acks_it(
    database: Database, bus: EventBus, js: JetStreamContext
) -> None:
    consumer = EventConsumer(SERVICE, [APPLY_ORDER], database, bus, CODEC)
    relay = OutboxRelay(database, bus, poll_interval=0.05)
    await store_event(database, "o-1/OrderCreated", order_created("o-1"))

    async with running(relay, consumer):
        await eventually(lambda: applied_is(database, "o-1", 1), TIMEOUT_SECONDS, "o-1 applied")
        await eventually(
            lambda: nothing_outstanding(js, consumer.durable), TIMEOUT_SECONDS, "the ack"
        )

    assert await applied(database, "o-1") == 1
    assert await processed(database, INBOX_KEY) == ["o-1/OrderCreated"]


async def applied_is(database: Database, order_id: str, count: int) -> bool:
    return await applied(database, order_id) == count


async def processed(database: Database, durable: str) -> list[str]:
    rows = await database.transact(
        lambda c: c.execute(
            "SELECT event_id FROM processed_events WHERE consumer=?", (durable,)
        ).fetchall()
    )
    return [str(row["event_id"]) for row in rows]


async def nothing_outstanding(js: JetStreamContext, durable: str) -> bool:
    info = await js.consumer_info(STREAM, durable)
    return bool(info.num_ack_pending == 0 and info.num_pending == 0)


class FailingHandler:
    """A handler that always raises, counting how often it was tried."""

    def __init__(self) -> None:
        self.attempts = 0

    def __call__(self, event: OrderCreated, uow: UnitOfWork) -> None:
        self.attempts += 1
        raise ValueError(f"cannot apply {event.order_id}")


async def test_an_event_that_keeps_failing_is_dead_lettered_after_max_deliveries_and_logged(
    database: Database, bus: EventBus, js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    handler = FailingHandler()
    subscription = Subscription(OrderCreated, handler)
    consumer = EventConsumer(SERVICE, [subscription], database, bus, CODEC, max_deliveries=2)
    event = order_created("o-1")
    await publish(bus, "o-1/OrderCreated", event)

    with caplog.at_level(logging.WARNING, logger="mesh.events.consumer"):
        async with running(consumer):
            await eventually(
                lambda: dead_letters_are(js, 1), TIMEOUT_SECONDS, f"a message on {DEAD_LETTERS}"
            )
            await eventually(
                lambda: nothing_outstanding(js, consumer.durable), TIMEOUT_SECONDS, "the ack"
            )

    assert handler.attempts == 2
    assert await applied(database, "o-1") == 0
    dead = await last_message(js, DEAD_LETTERS)
    assert dead.headers is not None
    assert dead.headers["Simplebank-Event-Id"] == "o-1/OrderCreated"
    assert "cannot apply o-1" in dead.headers["Simplebank-Error"]
    assert CODEC.decode(OrderCreated, dead.data or b"") == event
    [logged] = [r for r in caplog.records if r.getMessage() == "event dead-lettered"]
    assert logged.levelno == logging.ERROR
    assert logged.__dict__["event_id"] == "o-1/OrderCreated"
    assert logged.__dict__["subject"] == DEAD_LETTERS


class FailsForOneOrder:
    """Applies every order but one, which always raises."""

    def __init__(self, bad_order: str) -> None:
        self.bad_order = bad_order

    def __call__(self, event: OrderCreated, uow: UnitOfWork) -> None:
        record_order(event, uow)
        if event.order_id == self.bad_order:
            raise ValueError(f"cannot apply {event.order_id}")


async def test_one_failing_event_in_a_fetched_batch_does_not_undo_the_others(
    database: Database, bus: EventBus, js: JetStreamContext
) -> None:
    for order_id in ("o-1", "o-2", "o-3"):  # published first, so one fetch takes all three
        await publish(bus, f"{order_id}/OrderCreated", order_created(order_id))
    subscription = Subscription(OrderCreated, FailsForOneOrder("o-2"))
    consumer = EventConsumer(SERVICE, [subscription], database, bus, CODEC, max_deliveries=2)

    async with running(consumer):
        await eventually(
            lambda: dead_letters_are(js, 1), TIMEOUT_SECONDS, f"a message on {DEAD_LETTERS}"
        )
        await eventually(
            lambda: nothing_outstanding(js, consumer.durable), TIMEOUT_SECONDS, "the acks"
        )

    assert [await applied(database, o) for o in ("o-1", "o-2", "o-3")] == [1, 0, 1]
    assert sorted(await processed(database, INBOX_KEY)) == [
        "o-1/OrderCreated",
        "o-3/OrderCreated",
    ]
    dead = await last_message(js, DEAD_LETTERS)
    assert dead.headers is not None
    assert dead.headers["Simplebank-Event-Id"] == "o-2/OrderCreated"


async def test_a_message_that_does_not_read_as_its_event_is_dead_lettered_and_its_batch_applied(
    database: Database, bus: EventBus, js: JetStreamContext
) -> None:
    await publish(bus, "o-1/OrderCreated", order_created("o-1"))
    await bus.publish(ORDER_CREATED, b"\xff\xff", {"Nats-Msg-Id": "o-2/OrderCreated"})
    await publish(bus, "o-3/OrderCreated", order_created("o-3"))
    consumer = EventConsumer(SERVICE, [APPLY_ORDER], database, bus, CODEC)

    async with running(consumer):
        await eventually(
            lambda: dead_letters_are(js, 1), TIMEOUT_SECONDS, f"a message on {DEAD_LETTERS}"
        )
        await eventually(
            lambda: nothing_outstanding(js, consumer.durable), TIMEOUT_SECONDS, "the acks"
        )

    assert [await applied(database, o) for o in ("o-1", "o-3")] == [1, 1]
    dead = await last_message(js, DEAD_LETTERS)
    assert dead.headers is not None
    assert dead.headers["Simplebank-Event-Id"] == "o-2/OrderCreated"
    assert "PermanentFailure" in dead.headers["Simplebank-Error"]
    assert dead.data == b"\xff\xff"


async def dead_letters_are(js: JetStreamContext, count: int) -> bool:
    return await stream_count(js, DEAD_LETTERS) == count


class CrashesBeforeAck(EventConsumer):
    """Commits the effect and the inbox row, then dies before it can ack."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.committed_without_ack = 0

    async def acknowledge(self, msg: Msg) -> None:
        self.committed_without_ack += 1


class RecordsAcks(EventConsumer):
    """A normal consumer that notes which delivery of each message it acked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acked_deliveries: list[int] = []

    async def acknowledge(self, msg: Msg) -> None:
        self.acked_deliveries.append(msg.metadata.num_delivered or 0)
        await super().acknowledge(msg)


async def test_a_message_redelivered_after_a_crash_before_ack_is_not_applied_twice(
    nats_server: NatsServer, database: Database, bus: EventBus, js: JetStreamContext
) -> None:
    await publish(bus, "o-1/OrderCreated", order_created("o-1"))

    async with connected_bus(nats_server.url, "crashing") as crashing_bus:
        crashing = CrashesBeforeAck(SERVICE, [APPLY_ORDER], database, crashing_bus, CODEC)
        async with running(crashing):
            await eventually(
                lambda: holds(crashing.committed_without_ack == 1),
                TIMEOUT_SECONDS,
                "the first delivery committed",
            )
    assert await applied(database, "o-1") == 1

    async with connected_bus(nats_server.url, "restarted") as restarted_bus:
        restarted = RecordsAcks(SERVICE, [APPLY_ORDER], database, restarted_bus, CODEC)
        async with running(restarted):
            await eventually(
                lambda: holds(any(n >= 2 for n in restarted.acked_deliveries)),
                TIMEOUT_SECONDS,
                "the redelivery acked",
            )
            await eventually(
                lambda: nothing_outstanding(js, restarted.durable), TIMEOUT_SECONDS, "no ack owed"
            )

    assert await applied(database, "o-1") == 1


async def holds(condition: bool) -> bool:
    return condition
