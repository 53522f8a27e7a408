"""The event codec: plain dataclasses inside a service, the contract's protobuf on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from mesh.codec import EventCodec, UnreadableEvent
from simplebank.events.v1 import events_pb2

AT = datetime(2025, 1, 6, 9, 30, 1, 250000, tzinfo=UTC)


@dataclass(frozen=True)
class OrderExecuted:
    order_id: str
    quantity: int
    price: int
    executed_at: datetime


@dataclass(frozen=True)
class OrderExecutedProceeds:
    """A tolerant reader: only the fields this consumer needs."""

    order_id: str
    proceeds: int


@dataclass(frozen=True)
class Misnamed:
    order_id: str
    fees: int


def test_an_event_survives_the_round_trip_through_its_protobuf() -> None:
    codec = EventCodec({OrderExecuted: events_pb2.OrderExecuted})
    event = OrderExecuted("o-1", 10, 19_000, AT)

    subject, payload = codec.encode(event)

    assert subject == "simplebank.events.OrderExecuted"
    message = events_pb2.OrderExecuted.FromString(payload)
    assert (message.order_id, message.quantity) == ("o-1", 10)
    assert (message.price.currency_code, message.price.minor_units) == ("USD", 19_000)
    assert message.executed_at.ToDatetime(tzinfo=UTC) == AT
    assert codec.decode(OrderExecuted, payload) == event


def test_a_reader_takes_only_the_fields_it_declares() -> None:
    writer = EventCodec({OrderExecuted: events_pb2.OrderExecuted})
    message = events_pb2.OrderExecuted(order_id="o-1", quantity=10)
    message.proceeds.minor_units = 190_000
    reader = EventCodec({OrderExecutedProceeds: events_pb2.OrderExecuted})

    assert reader.decode(OrderExecutedProceeds, message.SerializeToString()) == (
        OrderExecutedProceeds("o-1", 190_000)
    )
    assert writer.subject(OrderExecuted) == reader.subject(OrderExecutedProceeds)


def test_a_field_the_contract_does_not_have_is_refused_when_the_codec_is_built() -> None:
    with pytest.raises(TypeError, match=r"Misnamed.fees is not in simplebank.events.v1.FeeCharged"):
        EventCodec({Misnamed: events_pb2.FeeCharged})


def test_a_payload_that_is_not_the_event_is_unreadable() -> None:
    codec = EventCodec({OrderExecuted: events_pb2.OrderExecuted})

    with pytest.raises(UnreadableEvent, match="payload is not a OrderExecuted"):
        codec.decode(OrderExecuted, b"\xff\xff\xff")


def test_an_event_that_is_not_the_services_own_is_refused() -> None:
    codec = EventCodec({OrderExecuted: events_pb2.OrderExecuted})

    with pytest.raises(TypeError, match="OrderExecutedProceeds is not one of this service's"):
        codec.encode(OrderExecutedProceeds("o-1", 1))
