"""Small translations between protobuf and plain Python values used at every service's edge."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from simplebank.money.v1.money_pb2 import Money

CURRENCY = "USD"


def money(minor_units: int) -> Money:
    """Money in the mesh's one currency."""
    return Money(currency_code=CURRENCY, minor_units=minor_units)


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
