"""Fake orders, accounts and market services for the gateway: generated responses, recorded
requests, and refusals shaped exactly like the real services' failed calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import grpc
from google.protobuf.message import Message

from mesh.calls.deadline import remaining
from mesh.convert import money
from mesh.errors.kinds import DomainError, NotFound
from mesh.errors.status import to_status
from services.gateway.handlers import Upstreams
from services.gateway.symbols import ListedSymbols
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from simplebank.market.v1 import market_pb2, market_pb2_grpc
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc


def refusal(error: DomainError) -> grpc.aio.AioRpcError:
    """The failed call a service hands back when its handler raised `error`."""
    status = to_status(error)
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        status.details,
        debug_error_string="",
    )


def unreachable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        "connection refused",
        debug_error_string="",
    )


@dataclass
class FakeService:
    """What a fake service was asked and how much of the caller's deadline was left each time;
    while `down`, every call fails as if the service could not be reached."""

    requests: list[Message] = field(default_factory=list)
    deadlines: list[float | None] = field(default_factory=list)
    down: bool = False

    def _called(self, request: Message) -> None:
        self.requests.append(request)
        self.deadlines.append(remaining())
        if self.down:
            raise unreachable()


@dataclass
class FakeOrders(FakeService):
    """orders: places every order it is asked to, and finds the ones it placed or was given."""

    orders: dict[str, orders_pb2.Order] = field(default_factory=dict)

    def add(self, order_id: str, account_id: str) -> orders_pb2.Order:
        order = orders_pb2.Order(
            order_id=order_id,
            account_id=account_id,
            symbol="AAPL",
            quantity=10,
            status=orders_pb2.ORDER_STATUS_PENDING,
            fee=money(0),
            proceeds=money(0),
        )
        self.orders[order_id] = order
        return order

    async def PlaceOrder(
        self, request: orders_pb2.PlaceOrderRequest
    ) -> orders_pb2.PlaceOrderResponse:
        self._called(request)
        order = self.add(f"order-{request.request_id}", request.account_id)
        order.symbol, order.quantity = request.symbol, request.quantity
        return orders_pb2.PlaceOrderResponse(order=order)

    async def GetOrder(self, request: orders_pb2.GetOrderRequest) -> orders_pb2.GetOrderResponse:
        self._called(request)
        if request.order_id not in self.orders:
            raise refusal(
                NotFound(
                    f"no order {request.order_id}",
                    reason="ORDER_NOT_FOUND",
                    metadata={"order_id": request.order_id},
                )
            )
        return orders_pb2.GetOrderResponse(order=self.orders[request.order_id])

    async def ListOrders(
        self, request: orders_pb2.ListOrdersRequest
    ) -> orders_pb2.ListOrdersResponse:
        self._called(request)
        return orders_pb2.ListOrdersResponse(
            orders=[o for o in self.orders.values() if o.account_id == request.account_id]
        )


@dataclass
class FakeAccounts(FakeService):
    """accounts: every account holds the same cash and 100 AAPL with 10 reserved."""

    async def GetPortfolio(
        self, request: accounts_pb2.GetPortfolioRequest
    ) -> accounts_pb2.GetPortfolioResponse:
        self._called(request)
        return accounts_pb2.GetPortfolioResponse(
            account_id=request.account_id,
            customer_id="alice",
            cash=money(1_000_000),
            positions=[accounts_pb2.Position(symbol="AAPL", quantity=100, reserved=10)],
        )


@dataclass
class FakeMarket(FakeService):
    """market: lists its symbols, unless told to refuse with a domain error."""

    symbols: list[str] = field(default_factory=lambda: ["AAPL", "GOOG", "MSFT"])
    refusal: DomainError | None = None

    async def ListQuotes(
        self, request: market_pb2.ListQuotesRequest
    ) -> market_pb2.ListQuotesResponse:
        self._called(request)
        if self.refusal is not None:
            raise refusal(self.refusal)
        return market_pb2.ListQuotesResponse(
            quotes=[market_pb2.Quote(symbol=s, price=money(100)) for s in self.symbols]
        )


def listed_symbols(market: FakeMarket, ttl: float = 60.0) -> ListedSymbols:
    return ListedSymbols(cast("market_pb2_grpc.MarketServiceAsyncStub", market), ttl)


def fake_upstreams(orders: FakeOrders, accounts: FakeAccounts, market: FakeMarket) -> Upstreams:
    """The gateway's upstreams, with the fakes standing in for the generated stubs."""
    return Upstreams(
        orders=cast("orders_pb2_grpc.OrderServiceAsyncStub", orders),
        accounts=cast("accounts_pb2_grpc.AccountServiceAsyncStub", accounts),
        symbols=listed_symbols(market),
    )
