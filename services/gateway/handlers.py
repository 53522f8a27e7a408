"""Gateway handlers: authenticate, validate, authorize, then ask the service that owns the data."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from mesh.errors.upstream import call
from services.gateway import domain
from services.gateway.domain import Customer
from services.gateway.symbols import ListedSymbols
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlaceSellOrder:
    account_id: str
    symbol: str
    quantity: int
    request_id: str


@dataclass(frozen=True)
class Upstreams:
    orders: orders_pb2_grpc.OrderServiceAsyncStub
    accounts: accounts_pb2_grpc.AccountServiceAsyncStub
    symbols: ListedSymbols


def caller(tokens: Mapping[str, Customer], authorization: str | None) -> Customer:
    return domain.authenticate(tokens, authorization)


async def place_sell_order(
    cmd: PlaceSellOrder, customer: Customer, upstreams: Upstreams
) -> orders_pb2.Order:
    known = await upstreams.symbols.get()
    domain.validate_sell_order(cmd.account_id, cmd.symbol, cmd.quantity, cmd.request_id, known)
    domain.authorize(customer, cmd.account_id)
    request = orders_pb2.PlaceOrderRequest(
        account_id=cmd.account_id,
        symbol=cmd.symbol,
        quantity=cmd.quantity,
        request_id=cmd.request_id,
    )
    response = await call("orders", upstreams.orders.PlaceOrder(request))
    log.info(
        "sell order placed",
        extra={"order_id": response.order.order_id, "customer": customer.customer_id},
    )
    return response.order


async def get_order(order_id: str, customer: Customer, upstreams: Upstreams) -> orders_pb2.Order:
    domain.validate_order_id(order_id)
    request = orders_pb2.GetOrderRequest(order_id=order_id)
    response = await call("orders", upstreams.orders.GetOrder(request))
    domain.authorize_order(customer, order_id, response.order.account_id)
    return response.order


async def list_orders(
    account_id: str,
    customer: Customer,
    upstreams: Upstreams,
    page_size: int = 0,
    page_token: str = "",
) -> orders_pb2.ListOrdersResponse:
    """One page of the account's orders, with the token of the next (orders pages them)."""
    domain.validate_listing(account_id, page_size, page_token)
    domain.authorize(customer, account_id)
    request = orders_pb2.ListOrdersRequest(
        account_id=account_id, page_size=page_size, page_token=page_token
    )
    return await call("orders", upstreams.orders.ListOrders(request))


async def get_portfolio(
    account_id: str, customer: Customer, upstreams: Upstreams
) -> accounts_pb2.GetPortfolioResponse:
    domain.validate_account_id(account_id)
    domain.authorize(customer, account_id)
    request = accounts_pb2.GetPortfolioRequest(account_id=account_id)
    return await call("accounts", upstreams.accounts.GetPortfolio(request))
