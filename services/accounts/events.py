"""The parts of other services' events that accounts reads to move cash and shares: plain data."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class OrderExecuted:
    order_id: str
    proceeds: int


@dataclass(frozen=True)
class OrderRejected:
    order_id: str
