"""Accounts' event edge: each of its plain events and the protobuf event of the contract it is."""

from __future__ import annotations

from mesh.codec import EventCodec
from services.accounts import events
from simplebank.events.v1 import events_pb2

CODEC = EventCodec(
    {
        events.FeeCharged: events_pb2.FeeCharged,
        events.FeeRefunded: events_pb2.FeeRefunded,
        events.OrderExecuted: events_pb2.OrderExecuted,
        events.OrderRejected: events_pb2.OrderRejected,
    }
)
