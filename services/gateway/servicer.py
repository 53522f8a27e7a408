"""The public API: reads the caller's token, sets the deadline budget, translates protobuf."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import grpc

from mesh.calls.deadline import budget
from mesh.errors.kinds import Unauthenticated
from services.gateway import handlers
from services.gateway.admission import CustomerConcurrency
from services.gateway.domain import Customer
from services.gateway.rate_limit import FailedLogins, RateLimiter, peer_address
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from simplebank.orders.v1 import orders_pb2


def public_order(order: orders_pb2.Order) -> gateway_pb2.Order:
    """The internal order as customers see it (the history stays inside the mesh)."""
    return gateway_pb2.Order(
        order_id=order.order_id,
        account_id=order.account_id,
        symbol=order.symbol,
        quantity=order.quantity,
        # Both enums list the same statuses with the same numbers, checked by a unit test.
        status=gateway_pb2.OrderStatus.ValueType(order.status),
        fee=order.fee,
        proceeds=order.proceeds,
        reason=order.reason,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return str(value)
    return None


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    def __init__(
        self,
        tokens: Mapping[str, Customer],
        upstreams: handlers.Upstreams,
        deadline: float,
        limiter: RateLimiter | None = None,
        concurrency: CustomerConcurrency | None = None,
        failed_logins: FailedLogins | None = None,
    ) -> None:
        self._tokens = tokens
        self._upstreams = upstreams
        self._deadline = deadline
        self._limiter = limiter or RateLimiter(per_second=0, burst=1)
        self._concurrency = concurrency or CustomerConcurrency()
        self._failed_logins = failed_logins or FailedLogins()

    def _caller(self, context: grpc.aio.ServicerContext[Any, Any]) -> Customer:
        """The customer behind the token, within their rate limit; a peer address that failed
        to log in too often is refused before its token is even compared."""
        peer = peer_address(context.peer() or "")
        try:
            self._failed_logins.check(peer)
            customer = handlers.caller(self._tokens, _authorization(context))
        except Unauthenticated as failure:
            self._failed_logins.failed(peer)
            failure.logged = False  # FailedLogins logs a count per peer and interval instead
            raise
        self._limiter.admit(customer.customer_id)
        return customer

    def _upstream_call(self, customer: Customer) -> contextlib.ExitStack:
        """The customer's share of the edge (see admission.CustomerConcurrency) and the
        deadline budget, held while the upstreams are asked."""
        stack = contextlib.ExitStack()
        stack.enter_context(self._concurrency.hold(customer.customer_id))
        stack.enter_context(budget(self._deadline))
        return stack

    async def PlaceSellOrder(
        self,
        request: gateway_pb2.PlaceSellOrderRequest,
        context: grpc.aio.ServicerContext[
            gateway_pb2.PlaceSellOrderRequest, gateway_pb2.PlaceSellOrderResponse
        ],
    ) -> gateway_pb2.PlaceSellOrderResponse:
        customer = self._caller(context)
        command = handlers.PlaceSellOrder(
            account_id=request.account_id,
            symbol=request.symbol,
            quantity=request.quantity,
            request_id=request.request_id,
        )
        with self._upstream_call(customer):
            order = await handlers.place_sell_order(command, customer, self._upstreams)
        return gateway_pb2.PlaceSellOrderResponse(order=public_order(order))

    async def GetOrder(
        self,
        request: gateway_pb2.GetOrderRequest,
        context: grpc.aio.ServicerContext[
            gateway_pb2.GetOrderRequest, gateway_pb2.GetOrderResponse
        ],
    ) -> gateway_pb2.GetOrderResponse:
        customer = self._caller(context)
        with self._upstream_call(customer):
            order = await handlers.get_order(request.order_id, customer, self._upstreams)
        return gateway_pb2.GetOrderResponse(order=public_order(order))

    async def ListOrders(
        self,
        request: gateway_pb2.ListOrdersRequest,
        context: grpc.aio.ServicerContext[
            gateway_pb2.ListOrdersRequest, gateway_pb2.ListOrdersResponse
        ],
    ) -> gateway_pb2.ListOrdersResponse:
        customer = self._caller(context)
        with self._upstream_call(customer):
            page = await handlers.list_orders(
                request.account_id,
                customer,
                self._upstreams,
                request.page_size,
                request.page_token,
            )
        return gateway_pb2.ListOrdersResponse(
            orders=[public_order(o) for o in page.orders], next_page_token=page.next_page_token
        )

    async def GetPortfolio(
        self,
        request: gateway_pb2.GetPortfolioRequest,
        context: grpc.aio.ServicerContext[
            gateway_pb2.GetPortfolioRequest, gateway_pb2.GetPortfolioResponse
        ],
    ) -> gateway_pb2.GetPortfolioResponse:
        customer = self._caller(context)
        with self._upstream_call(customer):
            portfolio = await handlers.get_portfolio(request.account_id, customer, self._upstreams)
        return gateway_pb2.GetPortfolioResponse(
            account_id=portfolio.account_id,
            cash=portfolio.cash,
            positions=[
                gateway_pb2.Position(symbol=p.symbol, quantity=p.quantity, reserved=p.reserved)
                for p in portfolio.positions
            ],
        )
