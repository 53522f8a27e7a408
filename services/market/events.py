"""The events market publishes, and the part of OrderCreated it reads: plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OrderCreated:
    order_id: str
    account_id: str
    symbol: str
    quantity: int


@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    notional: int
    placed_at: datetime


@dataclass(frozen=True)
class OrderExecuted:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    price: int
    proceeds: int
    executed_at: datetime


@dataclass(frozen=True)
class OrderRejected:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    reason: str
    rejected_at: datetime
