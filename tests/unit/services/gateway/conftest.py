"""The gateway's fake upstreams, fresh for every test."""

from __future__ import annotations

import pytest

from services.gateway.handlers import Upstreams
from tests.unit.services.gateway.upstreams import (
    FakeAccounts,
    FakeMarket,
    FakeOrders,
    fake_upstreams,
)


@pytest.fixture
def orders() -> FakeOrders:
    return FakeOrders()


@pytest.fixture
def accounts() -> FakeAccounts:
    return FakeAccounts()


@pytest.fixture
def market() -> FakeMarket:
    return FakeMarket()


@pytest.fixture
def upstreams(orders: FakeOrders, accounts: FakeAccounts, market: FakeMarket) -> Upstreams:
    return fake_upstreams(orders, accounts, market)
