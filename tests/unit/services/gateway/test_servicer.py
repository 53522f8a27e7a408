"""Unit tests for the gateway's public API: the caller's token, the deadline budget, and the
translation of internal orders and portfolios into the public contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.descriptor import EnumDescriptor, EnumValueDescriptor
from google.protobuf.message import Message

from mesh.convert import money, timestamp
from mesh.errors.kinds import ResourceExhausted, Unauthenticated
from services.gateway.admission import CustomerConcurrency
from services.gateway.domain import Customer
from services.gateway.handlers import Upstreams
from services.gateway.rate_limit import FailedLogins
from services.gateway.servicer import GatewayServicer, public_order
from simplebank.gateway.v1 import gateway_pb2
from simplebank.orders.v1 import orders_pb2
from tests.unit.services.gateway.upstreams import FakeAccounts, FakeMarket, FakeOrders

DEADLINE = 2.0
START = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
TOKENS = {"alice-token": Customer("alice", frozenset({"acc-alice"}))}

REQUESTS: dict[str, Message] = {
    "PlaceSellOrder": gateway_pb2.PlaceSellOrderRequest(
        account_id="acc-alice", symbol="AAPL", quantity=10, request_id="req-1"
    ),
    "GetOrder": gateway_pb2.GetOrderRequest(order_id="o-alice"),
    "ListOrders": gateway_pb2.ListOrdersRequest(account_id="acc-alice"),
    "GetPortfolio": gateway_pb2.GetPortfolioRequest(account_id="acc-alice"),
}


@dataclass
class FakeContext:
    """The part of a grpc.aio.ServicerContext the gateway reads: the call's metadata."""

    metadata: tuple[tuple[str, str], ...] = ()
    address: str = "ipv4:127.0.0.1:50000"

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    def peer(self) -> str:
        return self.address


def signed_in(authorization: str = "Bearer alice-token") -> FakeContext:
    return FakeContext((("user-agent", "grpcurl"), ("authorization", authorization)))


@pytest.fixture
def servicer(upstreams: Upstreams, orders: FakeOrders) -> GatewayServicer:
    orders.add("o-alice", "acc-alice")
    return GatewayServicer(TOKENS, upstreams, DEADLINE)


async def call(servicer: GatewayServicer, rpc: str, context: FakeContext) -> Message:
    response: Message = await getattr(servicer, rpc)(REQUESTS[rpc], context)
    return response


@pytest.mark.parametrize("rpc", REQUESTS)
@pytest.mark.parametrize(
    "context",
    [FakeContext(), signed_in("Bearer stolen-token"), signed_in("Basic alice-token")],
    ids=["no token", "unknown token", "not a bearer token"],
)
async def test_every_call_without_a_known_token_is_unauthenticated_before_anyone_is_asked(
    servicer: GatewayServicer,
    rpc: str,
    context: FakeContext,
    orders: FakeOrders,
    accounts: FakeAccounts,
    market: FakeMarket,
) -> None:
    with pytest.raises(Unauthenticated):
        await call(servicer, rpc, context)

    assert orders.requests == accounts.requests == market.requests == []


@pytest.mark.parametrize("rpc", REQUESTS)
async def test_every_call_passes_on_the_gateways_deadline_budget(
    servicer: GatewayServicer, rpc: str, orders: FakeOrders, accounts: FakeAccounts
) -> None:
    await call(servicer, rpc, signed_in())

    [deadline] = orders.deadlines + accounts.deadlines
    assert deadline is not None
    assert 0 < deadline <= DEADLINE


async def test_a_placed_sell_order_comes_back_pending(servicer: GatewayServicer) -> None:
    response = await call(servicer, "PlaceSellOrder", signed_in())

    assert isinstance(response, gateway_pb2.PlaceSellOrderResponse)
    assert response.order.status == gateway_pb2.ORDER_STATUS_PENDING
    assert response.order.account_id == "acc-alice"


async def test_a_portfolio_shows_cash_and_each_position_with_its_reservation(
    servicer: GatewayServicer,
) -> None:
    response = await call(servicer, "GetPortfolio", signed_in())

    assert response == gateway_pb2.GetPortfolioResponse(
        account_id="acc-alice",
        cash=money(1_000_000),
        positions=[gateway_pb2.Position(symbol="AAPL", quantity=100, reserved=10)],
    )


async def test_listed_orders_are_public_orders(servicer: GatewayServicer) -> None:
    response = await call(servicer, "ListOrders", signed_in())

    assert isinstance(response, gateway_pb2.ListOrdersResponse)
    assert [order.order_id for order in response.orders] == ["o-alice"]


def status_names(enum: EnumDescriptor) -> set[str]:
    return {value.name for value in enum.values}


def test_both_order_status_enums_list_the_same_statuses() -> None:
    assert status_names(orders_pb2.OrderStatus.DESCRIPTOR) == status_names(
        gateway_pb2.OrderStatus.DESCRIPTOR
    )


@pytest.mark.parametrize(
    "status", list(orders_pb2.OrderStatus.DESCRIPTOR.values), ids=lambda value: value.name
)
def test_each_internal_order_status_becomes_the_public_status_of_the_same_name(
    status: EnumValueDescriptor,
) -> None:
    public = public_order(orders_pb2.Order(status=orders_pb2.OrderStatus.ValueType(status.number)))

    assert gateway_pb2.OrderStatus.Name(public.status) == status.name


def test_a_public_order_carries_every_public_field_and_no_history() -> None:
    created, updated = timestamp(START), timestamp(START + timedelta(seconds=2))
    internal = orders_pb2.Order(
        order_id="o-1",
        account_id="acc-alice",
        symbol="AAPL",
        quantity=10,
        status=orders_pb2.ORDER_STATUS_REJECTED,
        fee=money(0),
        proceeds=money(0),
        reason="SYMBOL_HALTED",
        created_at=created,
        updated_at=updated,
        history=[orders_pb2.StatusChange(status=orders_pb2.ORDER_STATUS_REJECTED, note="halted")],
    )

    public = public_order(internal)

    for field in gateway_pb2.Order.DESCRIPTOR.fields:
        assert getattr(public, field.name) == getattr(internal, field.name), field.name


async def test_a_peer_that_keeps_failing_to_log_in_is_refused_even_with_a_good_token(
    upstreams: Upstreams,
) -> None:
    logins = FailedLogins(max_failures=2)
    servicer = GatewayServicer(TOKENS, upstreams, DEADLINE, failed_logins=logins)
    for _ in range(2):
        with pytest.raises(Unauthenticated) as failed:
            await call(servicer, "ListOrders", signed_in("Bearer guess"))
        assert failed.value.logged is False  # counted by FailedLogins, not a line each

    with pytest.raises(ResourceExhausted) as refused:
        await call(servicer, "ListOrders", signed_in())
    elsewhere = FakeContext(signed_in().metadata, address="ipv4:10.1.2.3:4444")
    listed = await call(servicer, "ListOrders", elsewhere)

    assert refused.value.reason == "TOO_MANY_FAILED_LOGINS"
    assert isinstance(listed, gateway_pb2.ListOrdersResponse)


async def test_a_customer_over_their_share_of_calls_is_refused_before_any_upstream(
    upstreams: Upstreams, orders: FakeOrders
) -> None:
    concurrency = CustomerConcurrency(limit=1)
    servicer = GatewayServicer(TOKENS, upstreams, DEADLINE, concurrency=concurrency)
    asked = len(orders.requests)

    with concurrency.hold("alice"), pytest.raises(ResourceExhausted) as refused:
        await call(servicer, "ListOrders", signed_in())

    assert refused.value.reason == "CUSTOMER_OVERLOADED"
    assert len(orders.requests) == asked
