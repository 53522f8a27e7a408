"""The events orders publishes, and the parts of other services' events it reads: plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OrderCreated:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    created_at: datetime


@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    placed_at: datetime


@dataclass(frozen=True)
class OrderExecuted:
    order_id: str
    price: int
    proceeds: int
    executed_at: datetime


@dataclass(frozen=True)
class OrderRejected:
    order_id: str
    reason: str
    rejected_at: datetime


@dataclass(frozen=True)
class FeeCharged:
    order_id: str
    fee: int


@dataclass(frozen=True)
class FeeRefunded:
    order_id: str
