"""No control character reaches a database: NUL and the other control characters in any string
field of any request, public or internal, are INVALID_ARGUMENT with a BadRequest violation naming
the field (on PostgreSQL a NUL used to come back as the driver's own error text)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.message import Message

from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from simplebank.gateway.v1 import gateway_pb2
from simplebank.market.v1 import market_pb2, market_pb2_grpc
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc
from tests.support.data.customer import Customer
from tests.support.data.refusals import refusal
from tests.support.servers.mesh import Mesh

pytestmark = pytest.mark.integration

CONTROL = ["\x00", "\n", "\x1f", "\x7f"]

# Each public request, valid but for the field the case spoils.
PUBLIC: list[Message] = [
    gateway_pb2.PlaceSellOrderRequest(
        account_id="acc-alice", symbol="AAPL", quantity=1, request_id="ctl"
    ),
    gateway_pb2.GetOrderRequest(order_id="o-1"),
    gateway_pb2.ListOrdersRequest(account_id="acc-alice", page_token="t"),
    gateway_pb2.GetPortfolioRequest(account_id="acc-alice"),
]

# Each internal request, the service it goes to and the identity that calls it in the mesh.
INTERNAL: list[tuple[Message, str, str]] = [
    (
        orders_pb2.PlaceOrderRequest(
            account_id="acc-alice", symbol="AAPL", quantity=1, request_id="ctl"
        ),
        "orders",
        "gateway",
    ),
    (orders_pb2.GetOrderRequest(order_id="o-1"), "orders", "gateway"),
    (orders_pb2.ListOrdersRequest(account_id="acc-alice", page_token="t"), "orders", "gateway"),
    (
        accounts_pb2.ReserveHoldingsRequest(
            order_id="o-1", account_id="acc-alice", symbol="AAPL", quantity=1, attempt_id="a"
        ),
        "accounts",
        "orders",
    ),
    (accounts_pb2.ReleaseHoldingsRequest(order_id="o-1", attempt_id="a"), "accounts", "orders"),
    (accounts_pb2.GetPortfolioRequest(account_id="acc-alice"), "accounts", "gateway"),
    (fees_pb2.QuoteFeeRequest(symbol="AAPL", quantity=1), "fees", "operator"),
    (market_pb2.GetQuoteRequest(symbol="AAPL"), "market", "operator"),
]


def string_fields(message: Message) -> list[str]:
    return [f.name for f in message.DESCRIPTOR.fields if f.type == f.TYPE_STRING]


def spoiled(message: Message, field: str, char: str) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    setattr(copy, field, f"x{char}y")
    return copy


def method_name(message: Message) -> str:
    return type(message).__name__.removesuffix("Request")


PUBLIC_CASES = [
    pytest.param(request, field, char, id=f"{method_name(request)}.{field}-U+{ord(char):04X}")
    for request in PUBLIC
    for field in string_fields(request)
    for char in CONTROL
]
INTERNAL_CASES = [
    pytest.param(
        request, service, identity, field, CONTROL[n % len(CONTROL)],
        id=f"{service}.{method_name(request)}.{field}",
    )
    for request, service, identity in INTERNAL
    for n, field in enumerate(string_fields(request))
]  # fmt: skip

STUBS: dict[str, Callable[[grpc.Channel], object]] = {
    "orders": orders_pb2_grpc.OrderServiceStub,
    "accounts": accounts_pb2_grpc.AccountServiceStub,
    "fees": fees_pb2_grpc.FeeServiceStub,
    "market": market_pb2_grpc.MarketServiceStub,
}


def assert_invalid_naming(caught: pytest.ExceptionInfo[grpc.RpcError], field: str) -> None:
    refused = refusal(caught.value)
    assert (refused.code, refused.fields) == (grpc.StatusCode.INVALID_ARGUMENT, frozenset({field}))
    # What the client reads is the violation, never a database's or a library's text.
    assert caught.value.details() == (
        f"{field}: must not contain control characters (U+0000-U+001F, U+007F)"
    )


@pytest.mark.parametrize(("request_message", "field", "char"), PUBLIC_CASES)
def test_a_control_character_in_a_public_string_field_is_invalid_argument(
    alice: Customer, request_message: Message, field: str, char: str
) -> None:
    method = getattr(alice.stub, method_name(request_message))
    with pytest.raises(grpc.RpcError) as caught:
        method(spoiled(request_message, field, char), metadata=alice.metadata, timeout=5.0)

    assert_invalid_naming(caught, field)


@pytest.mark.parametrize(
    ("request_message", "service", "identity", "field", "char"), INTERNAL_CASES
)
def test_a_control_character_in_an_internal_string_field_is_invalid_argument(
    mesh: Mesh, request_message: Message, service: str, identity: str, field: str, char: str
) -> None:
    with mesh.channel_as(identity, service) as channel:
        stub = STUBS[service](channel)
        method = getattr(stub, method_name(request_message))
        with pytest.raises(grpc.RpcError) as caught:
            method(spoiled(request_message, field, char), timeout=5.0)

    assert_invalid_naming(caught, field)


def test_a_nul_in_an_order_id_is_refused_by_the_gateway_without_internal_text(
    alice: Customer,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        alice.order("o-\x00")

    assert_invalid_naming(caught, "order_id")
