"""Unit tests for the gateway handlers: a customer only reaches their own accounts and orders,
and a request is checked in full before any service behind the gateway is asked."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mesh.errors.kinds import InvalidArgument, NotFound, PermissionDenied, Unavailable
from services.gateway import handlers
from services.gateway.domain import Customer
from services.gateway.handlers import PlaceSellOrder, Upstreams
from simplebank.accounts.v1 import accounts_pb2
from simplebank.orders.v1 import orders_pb2
from tests.unit.services.gateway.upstreams import FakeAccounts, FakeOrders

ALICE = Customer("alice", frozenset({"acc-alice"}))
SELL = PlaceSellOrder(account_id="acc-alice", symbol="AAPL", quantity=10, request_id="req-1")


async def sell(upstreams: Upstreams, **changes: Any) -> orders_pb2.Order:
    return await handlers.place_sell_order(dataclasses.replace(SELL, **changes), ALICE, upstreams)


async def violations_of_selling(upstreams: Upstreams, **changes: Any) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as refused:
        await sell(upstreams, **changes)
    return {v.field: v.description for v in refused.value.violations}


# Selling.


async def test_a_sell_order_for_the_callers_own_account_is_placed_by_orders(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    order = await sell(upstreams)

    assert orders.requests == [
        orders_pb2.PlaceOrderRequest(
            account_id="acc-alice", symbol="AAPL", quantity=10, request_id="req-1"
        )
    ]
    assert order == orders.orders["order-req-1"]


async def test_a_sell_order_from_another_customers_account_is_denied_before_orders_is_asked(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    with pytest.raises(PermissionDenied):
        await sell(upstreams, account_id="acc-bob")

    assert orders.requests == []


async def test_a_symbol_the_market_does_not_list_is_an_invalid_symbol(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    violations = await violations_of_selling(upstreams, symbol="TSLA")

    assert violations == {"symbol": "unknown symbol TSLA"}
    assert orders.requests == []


async def test_every_bad_field_of_a_sell_order_is_reported_at_once(upstreams: Upstreams) -> None:
    violations = await violations_of_selling(
        upstreams, account_id="", symbol="aapl", quantity=0, request_id="not allowed!"
    )

    assert set(violations) == {"account_id", "symbol", "quantity", "request_id"}


async def test_a_sell_order_while_orders_is_down_is_unavailable(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    orders.down = True

    with pytest.raises(Unavailable, match="orders"):
        await sell(upstreams)


# Reading orders.


async def test_a_customer_may_read_their_own_order(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    mine = orders.add("o-alice", "acc-alice")

    assert await handlers.get_order("o-alice", ALICE, upstreams) == mine


async def test_another_customers_order_is_refused_exactly_like_a_missing_one(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    orders.add("o-bob", "acc-bob")

    with pytest.raises(NotFound) as denied:
        await handlers.get_order("o-bob", ALICE, upstreams)
    with pytest.raises(NotFound) as missing:
        await handlers.get_order("o-none", ALICE, upstreams)

    assert denied.value.reason == missing.value.reason == "ORDER_NOT_FOUND"
    assert denied.value.message == "no order o-bob"
    assert denied.value.metadata == {"order_id": "o-bob"}


async def test_a_missing_order_is_not_found_with_the_reason_orders_gave(
    upstreams: Upstreams,
) -> None:
    with pytest.raises(NotFound) as missing:
        await handlers.get_order("o-none", ALICE, upstreams)

    assert missing.value.reason == "ORDER_NOT_FOUND"
    assert missing.value.metadata == {"order_id": "o-none"}


async def test_a_customer_lists_the_orders_of_their_own_account(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    mine = orders.add("o-alice", "acc-alice")
    orders.add("o-bob", "acc-bob")

    assert list((await handlers.list_orders("acc-alice", ALICE, upstreams)).orders) == [mine]


async def test_listing_another_customers_orders_is_denied_before_orders_is_asked(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    with pytest.raises(PermissionDenied):
        await handlers.list_orders("acc-bob", ALICE, upstreams)

    assert orders.requests == []


# Portfolios.


async def test_a_customer_sees_the_portfolio_of_their_own_account(
    upstreams: Upstreams, accounts: FakeAccounts
) -> None:
    portfolio = await handlers.get_portfolio("acc-alice", ALICE, upstreams)

    assert accounts.requests == [accounts_pb2.GetPortfolioRequest(account_id="acc-alice")]
    assert portfolio.account_id == "acc-alice"


async def test_another_customers_portfolio_is_denied_before_accounts_is_asked(
    upstreams: Upstreams, accounts: FakeAccounts
) -> None:
    with pytest.raises(PermissionDenied):
        await handlers.get_portfolio("acc-bob", ALICE, upstreams)

    assert accounts.requests == []


@pytest.mark.parametrize(
    ("page_size", "page_token", "field"),
    [(-1, "", "page_size"), (0, "t" * 513, "page_token")],
)
async def test_a_bad_page_is_refused_before_orders_is_asked(
    upstreams: Upstreams, orders: FakeOrders, page_size: int, page_token: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await handlers.list_orders("acc-alice", ALICE, upstreams, page_size, page_token)

    assert [v.field for v in refused.value.violations] == [field]
    assert orders.requests == []


async def test_the_page_asked_for_is_passed_to_orders(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    await handlers.list_orders("acc-alice", ALICE, upstreams, 7, "token")

    assert orders.requests == [
        orders_pb2.ListOrdersRequest(account_id="acc-alice", page_size=7, page_token="token")
    ]
