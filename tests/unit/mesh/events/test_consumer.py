"""A consumer's pull waits on the server for a long expiry (one request per expiry when idle),
and is given up at once when the connection to NATS is made again: the pull waited on the
server the connection left. A batch is applied in the order of the rows its handlers lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg

from mesh.events.bus import EventBus
from mesh.events.consumer import FETCH_SECONDS, EventConsumer, Subscription
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from tests.support.data.events import (
    CODEC,
    OrderCreated,
    applied,
    delivered,
    record_order,
    service_database,
)

WITHIN_SECONDS = 5.0


class Reconnecting(EventBus):
    """A bus whose connection is made again when the test says so."""

    def __init__(self) -> None:
        super().__init__("nats://127.0.0.1:1", "svc")
        self.again = asyncio.Event()

    async def reconnected(self) -> None:
        await self.again.wait()


class WaitingPull:
    """A pull subscription whose fetch waits out its whole expiry: nothing comes."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, float]] = []
        self.cancelled = 0

    async def fetch(self, batch: int, expiry: float) -> list[Any]:
        self.asked.append((batch, expiry))
        try:
            await asyncio.sleep(expiry)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise TimeoutError


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with service_database(tmp_path / "service.sqlite3") as opened:
        yield opened


def consumer(database: Database, bus: EventBus) -> EventConsumer:
    return EventConsumer("svc", [Subscription(OrderCreated, record_order)], database, bus, CODEC)


async def test_a_pull_waits_on_the_server_for_the_long_expiry(database: Database) -> None:
    pull = WaitingPull()
    fetching = asyncio.create_task(consumer(database, Reconnecting())._fetch(pull))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)

    assert pull.asked == [(32, FETCH_SECONDS)]
    assert FETCH_SECONDS >= 10
    fetching.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fetching
    assert pull.cancelled == 1, "cancelling the consumer ends its pull"


async def test_a_pull_is_given_up_when_the_connection_is_made_again(database: Database) -> None:
    bus, pull = Reconnecting(), WaitingPull()
    fetching = asyncio.create_task(consumer(database, bus)._fetch(pull))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)

    bus.again.set()

    assert await asyncio.wait_for(fetching, WITHIN_SECONDS) == []
    assert pull.cancelled == 1


class Acks:
    """Stands in for the NATS connection a message is acked on: records each answer's subject
    and payload (empty for an ack, -NAK for a nak)."""

    def __init__(self) -> None:
        self.subjects: list[str] = []
        self.payloads: list[bytes] = []

    async def publish(self, subject: str, payload: bytes = b"", **_: Any) -> None:
        self.subjects.append(subject)
        self.payloads.append(payload)


async def test_a_batch_is_applied_in_lock_order_and_one_rows_events_in_the_order_they_came(
    database: Database,
) -> None:
    seen: list[tuple[str, int]] = []

    def record(event: OrderCreated, uow: UnitOfWork) -> None:
        seen.append((event.order_id, event.quantity))

    sorting = EventConsumer(
        "svc",
        [Subscription(OrderCreated, record)],
        database,
        Reconnecting(),
        CODEC,
        lock_order=attrgetter("order_id"),
    )
    acks = Acks()
    came = [("o-3", 1), ("o-1", 2), ("o-2", 3), ("o-1", 4)]
    batch = [
        delivered(acks, f"e-{n}", OrderCreated(order_id, "acc-alice", "AAPL", n), f"ack.{n}")  # type: ignore[arg-type]
        for order_id, n in came
    ]

    await sorting.process_batch(batch)

    assert seen == [("o-1", 2), ("o-1", 4), ("o-2", 3), ("o-3", 1)]
    assert sorted(acks.subjects) == ["ack.1", "ack.2", "ack.3", "ack.4"]


def jetstream_delivery(acks: Acks, n: int, order_id: str) -> Msg:
    """Message n of a batch, with the reply subject JetStream gives (its metadata says one
    delivery), for an OrderCreated of `order_id`."""
    event = OrderCreated(order_id, "acc-alice", "AAPL", n)
    return delivered(acks, f"e-{n}", event, f"$JS.ACK.SIMPLEBANK.svc.1.{n}.{n}.0.0")  # type: ignore[arg-type]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement a unit of work executes from here on, in order."""
    executed: list[str] = []
    execute = UnitOfWork.execute

    def recording(uow: UnitOfWork, sql: str, parameters: Sequence[Any] = ()) -> Any:
        executed.append(sql)
        return execute(uow, sql, parameters)

    monkeypatch.setattr(UnitOfWork, "execute", recording)
    return executed


async def test_a_batch_that_applies_takes_no_savepoint_and_a_failure_undoes_only_its_message(
    database: Database, statements: list[str]
) -> None:
    runs: list[str] = []

    def apply_unless_o5(event: OrderCreated, uow: UnitOfWork) -> None:
        runs.append(event.order_id)
        if event.order_id == "o-5":
            raise ValueError("o-5 never applies")
        record_order(event, uow)

    sub = EventConsumer(
        "svc", [Subscription(OrderCreated, apply_unless_o5)], database, Reconnecting(), CODEC
    )
    acks = Acks()

    await sub.process_batch([jetstream_delivery(acks, n, f"o-{n}") for n in (1, 2, 3)])

    assert runs == ["o-1", "o-2", "o-3"]
    assert not [s for s in statements if "SAVEPOINT" in s]

    runs.clear()
    await sub.process_batch([jetstream_delivery(acks, n, f"o-{n}") for n in (4, 5, 6)])

    assert runs == ["o-4", "o-5", "o-4", "o-5", "o-6"], "undone at o-5, then with savepoints"
    assert [await applied(database, f"o-{n}") for n in range(1, 7)] == [1, 1, 1, 1, 0, 1]
    assert statements.count("SAVEPOINT event") == 3

    runs.clear()
    await sub.process_batch([jetstream_delivery(acks, 7, "o-5")])

    assert runs == ["o-5"], "a batch of one fails once: its transaction is the message's"
    naks = [p for p in acks.payloads if p.startswith(b"-NAK")]
    assert (len(acks.payloads) - len(naks), len(naks)) == (5, 2), "o-5 is redelivered"


async def test_a_batch_claims_its_event_ids_in_one_statement_and_applies_each_new_one_once(
    database: Database, statements: list[str]
) -> None:
    runs: list[str] = []

    def record(event: OrderCreated, uow: UnitOfWork) -> None:
        runs.append(event.order_id)
        record_order(event, uow)

    sub = EventConsumer(
        "svc", [Subscription(OrderCreated, record)], database, Reconnecting(), CODEC
    )
    acks = Acks()

    def message(event_id: str, order_id: str) -> Msg:
        event = OrderCreated(order_id, "acc-alice", "AAPL", 1)
        return delivered(acks, event_id, event, f"ack.{event_id}")  # type: ignore[arg-type]

    await sub.process_batch([message("e-1", "o-1")])
    statements.clear()
    # e-1 was applied before; the second e-2 repeats one earlier in the same batch.
    await sub.process_batch(
        [message("e-1", "o-1"), message("e-2", "o-2"), message("e-2", "o-2"), message("e-3", "o-3")]
    )

    assert runs == ["o-1", "o-2", "o-3"]
    assert len([s for s in statements if "INTO processed_events" in s]) == 1
    assert [await applied(database, f"o-{n}") for n in (1, 2, 3)] == [1, 1, 1]
    assert len(acks.subjects) == 5, "duplicates are acked too"
