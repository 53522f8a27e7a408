"""The events fees publishes, and the parts of other services' events it reads: plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    account_id: str
    notional: int


@dataclass(frozen=True)
class OrderRejected:
    order_id: str
    account_id: str


@dataclass(frozen=True)
class FeeCharged:
    order_id: str
    account_id: str
    fee: int


@dataclass(frozen=True)
class FeeRefunded:
    order_id: str
    account_id: str
    fee: int
