"""Accounts' event edge: the contract's events it publishes and consumes, translated here."""

from __future__ import annotations

from mesh.events.codec import EventCodec
from services import events
from simplebank.events.v1 import events_pb2

CODEC = EventCodec(
    events_pb2,
    consumes=[events.FeeCharged, events.FeeRefunded, events.OrderExecuted, events.OrderRejected],
)
