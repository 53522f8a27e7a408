"""The event codec: plain dataclasses inside a service, the contract's protobuf on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from mesh.events.codec import EventCodec, UnreadableEvent
from services import events
from simplebank.events.v1 import events_pb2

AT = datetime(2025, 1, 6, 9, 30, 1, 250000, tzinfo=UTC)
EXECUTED = events.OrderExecuted("o-1", "acc-alice", "AAPL", 10, 19_000, 190_000, AT)


def test_an_event_survives_the_round_trip_through_its_protobuf() -> None:
    codec = EventCodec(
        events_pb2, publishes=[events.OrderExecuted], consumes=[events.OrderExecuted]
    )

    subject, payload = codec.encode(EXECUTED)

    assert subject == "simplebank.events.OrderExecuted" == codec.subject(events.OrderExecuted)
    message = events_pb2.OrderExecuted.FromString(payload)
    assert (message.order_id, message.quantity) == ("o-1", 10)
    assert (message.price.currency_code, message.price.minor_units) == ("USD", 19_000)
    assert message.executed_at.ToDatetime(tzinfo=UTC) == AT
    assert codec.decode(events.OrderExecuted, payload) == EXECUTED


def test_a_reader_may_take_only_the_fields_it_declares() -> None:
    @dataclass(frozen=True)
    class OrderExecuted:
        order_id: str
        proceeds: int

    writer = EventCodec(events_pb2, publishes=[events.OrderExecuted])
    reader = EventCodec(events_pb2, consumes=[OrderExecuted])

    assert reader.decode(OrderExecuted, writer.encode(EXECUTED)[1]) == OrderExecuted("o-1", 190_000)


def test_a_field_the_contract_does_not_have_is_refused_when_the_codec_is_built() -> None:
    @dataclass(frozen=True)
    class FeeCharged:
        order_id: str
        fees: int

    with pytest.raises(
        TypeError, match=r"FeeCharged.fees is not in simplebank.events.v1.FeeCharged"
    ):
        EventCodec(events_pb2, consumes=[FeeCharged])


def test_an_event_the_contract_does_not_have_is_refused() -> None:
    @dataclass(frozen=True)
    class OrderCancelled:
        order_id: str

    with pytest.raises(TypeError, match="has no event OrderCancelled"):
        EventCodec(events_pb2, publishes=[OrderCancelled])


def test_a_payload_that_is_not_the_event_is_unreadable() -> None:
    codec = EventCodec(events_pb2, consumes=[events.OrderExecuted])

    with pytest.raises(UnreadableEvent, match="payload is not a OrderExecuted"):
        codec.decode(events.OrderExecuted, b"\xff\xff\xff")


def test_a_service_publishes_and_consumes_only_what_its_edge_lists() -> None:
    codec = EventCodec(events_pb2, publishes=[events.FeeCharged], consumes=[events.OrderPlaced])

    with pytest.raises(TypeError, match="does not publish OrderExecuted"):
        codec.encode(EXECUTED)
    with pytest.raises(TypeError, match="does not consume FeeCharged"):
        codec.decode(events.FeeCharged, b"")
