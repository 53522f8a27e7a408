"""The events of the contract as plain data, for the handlers of every service.

Each mirrors the protobuf event of the same name in `simplebank.events.v1` (timestamps as aware
datetimes, money as USD minor units); a service's `messages.py` says which ones it publishes and
consumes, and translates them at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OrderCreated:
    """orders stored a new sell order and reserved its shares."""

    order_id: str
    account_id: str
    symbol: str
    quantity: int
    created_at: datetime


@dataclass(frozen=True)
class OrderPlaced:
    """market booked the order on the exchange; `notional` is its value at the quoted price."""

    order_id: str
    account_id: str
    symbol: str
    quantity: int
    notional: int
    placed_at: datetime


@dataclass(frozen=True)
class OrderExecuted:
    """The exchange sold the shares at `price` each, for `proceeds` in all."""

    order_id: str
    account_id: str
    symbol: str
    quantity: int
    price: int
    proceeds: int
    executed_at: datetime


@dataclass(frozen=True)
class OrderRejected:
    """The exchange refused the order, for a machine-readable `reason`."""

    order_id: str
    account_id: str
    symbol: str
    quantity: int
    reason: str
    rejected_at: datetime


@dataclass(frozen=True)
class FeeCharged:
    """fees charged the order's fee."""

    order_id: str
    account_id: str
    fee: int


@dataclass(frozen=True)
class FeeRefunded:
    """fees gave back the fee of an order the exchange rejected."""

    order_id: str
    account_id: str
    fee: int
