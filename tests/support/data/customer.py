"""A customer's client of the public gateway API, as a test drives it: typed, with its token."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from mesh.errors.status import reason_of
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.polling import POLL_SECONDS, poll

CALL_TIMEOUT_SECONDS = 5.0
RETRY_SECONDS = 5.0  # how long UNAVAILABLE or RESOURCE_EXHAUSTED is retried

Req = TypeVar("Req", bound=Message)
Res = TypeVar("Res", bound=Message)

PENDING = gateway_pb2.ORDER_STATUS_PENDING
PLACED = gateway_pb2.ORDER_STATUS_PLACED
FILLED = gateway_pb2.ORDER_STATUS_FILLED
REJECTED = gateway_pb2.ORDER_STATUS_REJECTED
FINAL = frozenset({FILLED, REJECTED})


def status_name(status: int) -> str:
    return str(gateway_pb2.OrderStatus.Name(status))  # type: ignore[arg-type]


class Customer:
    """Calls the gateway with one `authorization` header, on behalf of one account by default."""

    def __init__(self, channel: grpc.Channel, authorization: str | None, account_id: str) -> None:
        self.stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        self.account_id = account_id
        self.metadata: tuple[tuple[str, str], ...] = (
            () if authorization is None else (("authorization", authorization),)
        )

    def sell(self, symbol: str, quantity: int, request_id: str | None = None) -> gateway_pb2.Order:
        """Place a sell order; retried on UNAVAILABLE with the same request_id, so at most one."""
        request = gateway_pb2.PlaceSellOrderRequest(
            account_id=self.account_id,
            symbol=symbol,
            quantity=quantity,
            request_id=request_id or f"test-{uuid.uuid4()}",
        )
        return self.call(self.stub.PlaceSellOrder, request).order

    def try_sell(self, symbol: str, quantity: int, timeout: float = CALL_TIMEOUT_SECONDS) -> str:
        """One PlaceSellOrder, not retried: "OK", or the status name and the ErrorInfo reason."""
        request = gateway_pb2.PlaceSellOrderRequest(
            account_id=self.account_id,
            symbol=symbol,
            quantity=quantity,
            request_id=f"test-{uuid.uuid4()}",
        )
        try:
            self.stub.PlaceSellOrder(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as error:
            return f"{error.code().name} {reason_of(error)}".strip()
        return "OK"

    def order(self, order_id: str) -> gateway_pb2.Order:
        return self.call(self.stub.GetOrder, gateway_pb2.GetOrderRequest(order_id=order_id)).order

    def orders(self) -> list[gateway_pb2.Order]:
        """Every order of the account, newest first: all the pages."""
        found: list[gateway_pb2.Order] = []
        token = ""
        while True:
            request = gateway_pb2.ListOrdersRequest(account_id=self.account_id, page_token=token)
            page = self.call(self.stub.ListOrders, request)
            found.extend(page.orders)
            token = page.next_page_token
            if not token:
                return found

    def portfolio(self) -> gateway_pb2.GetPortfolioResponse:
        request = gateway_pb2.GetPortfolioRequest(account_id=self.account_id)
        return self.call(self.stub.GetPortfolio, request)

    def position(self, symbol: str) -> gateway_pb2.Position:
        found = [p for p in self.portfolio().positions if p.symbol == symbol]
        return found[0] if found else gateway_pb2.Position(symbol=symbol)

    def wait_for_status(
        self, order_id: str, statuses: Collection[int], timeout: float
    ) -> gateway_pb2.Order:
        """Poll GetOrder until the order has one of `statuses`; fail with the last one seen.

        UNAVAILABLE answers are waited out, so this works across a service's restart, and a
        RESOURCE_EXHAUSTED one for as long as its RetryInfo says.
        """
        wanted = ", ".join(sorted(status_name(s) for s in statuses))
        return poll(
            lambda: self.order(order_id),
            lambda order: order.status in statuses,
            timeout,
            f"order {order_id} reaching {wanted}",
            POLL_SECONDS,
            describe=lambda order: f"{status_name(order.status)} {order.reason}".strip(),
        )

    def call(
        self,
        method: grpc.UnaryUnaryMultiCallable[Req, Res],
        request: Req,
        metadata: tuple[tuple[str, str], ...] | None = None,
    ) -> Res:
        """Call, and call again while the answer is UNAVAILABLE, as a client should, or
        RESOURCE_EXHAUSTED, after the delay its RetryInfo gives; any other error is raised.

        Just after a service restarts, the gateway's channel to it may still be waiting to
        reconnect, and the gateway answers UNAVAILABLE for up to a second; a customer calling
        fast may go over the gateway's per-customer rate limit. `metadata` replaces the
        customer's own headers (a test of a missing or wrong token).
        """
        sent = self.metadata if metadata is None else metadata
        return poll(
            lambda: method(request, metadata=sent, timeout=CALL_TIMEOUT_SECONDS),
            lambda _answer: True,
            RETRY_SECONDS,
            f"an answer to {type(request).__name__}",
            POLL_SECONDS,
        )
