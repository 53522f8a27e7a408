"""Every public RPC refuses bad input with the right status and details, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf.message import Message

from simplebank.gateway.v1 import gateway_pb2
from tests.support.data.customer import FINAL, Customer
from tests.support.data.refusals import refusal
from tests.support.data.settle import settle
from tests.support.servers.mesh import Mesh
from tooling.harness.snapshot import take_snapshot

pytestmark = pytest.mark.integration

INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
ALICE = "Bearer alice-token"
TOO_LONG = "x" * 65


def sell(**fields: object) -> gateway_pb2.PlaceSellOrderRequest:
    """A valid request of alice's, with the given fields changed."""
    valid: dict[str, object] = {
        "account_id": "acc-alice",
        "symbol": "AAPL",
        "quantity": 1,
        "request_id": "bad-input",
    }
    return gateway_pb2.PlaceSellOrderRequest(**{**valid, **fields})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Refused:
    """The code a request must get, with the fields (BadRequest) or reason (ErrorInfo) it names."""

    code: grpc.StatusCode
    fields: frozenset[str] = field(default_factory=frozenset)
    reason: str = ""


def invalid(*fields: str) -> Refused:
    return Refused(INVALID, frozenset(fields))


NOT_OWNER = Refused(DENIED, reason="NOT_ACCOUNT_OWNER")
NO_TOKEN = Refused(UNAUTHENTICATED, reason="MISSING_TOKEN")
BAD_TOKEN = Refused(UNAUTHENTICATED, reason="INVALID_TOKEN")

Case = tuple[str, Message, str | None, Refused]


def account_reads() -> list[Case]:
    """ListOrders and GetPortfolio take the same account_id and are refused the same way."""
    cases = [
        ("empty account", "", ALICE, invalid("account_id")),
        ("account too long", TOO_LONG, ALICE, invalid("account_id")),
        ("another customer's account", "acc-bob", ALICE, NOT_OWNER),
        ("unknown account", "acc-nobody", ALICE, NOT_OWNER),
        ("no token", "acc-alice", None, NO_TOKEN),
        ("wrong token", "acc-alice", "Bearer bob-token-guess", BAD_TOKEN),
    ]
    reads = [
        ("list orders", gateway_pb2.ListOrdersRequest),
        ("get portfolio", gateway_pb2.GetPortfolioRequest),
    ]
    return [
        (f"{rpc}: {what}", request(account_id=account_id), authorization, expected)
        for rpc, request in reads
        for what, account_id, authorization, expected in cases
    ]


CASES: list[Case] = [
    ("sell: nothing set", gateway_pb2.PlaceSellOrderRequest(), ALICE,
     invalid("account_id", "symbol", "quantity", "request_id")),
    ("sell: empty account", sell(account_id=""), ALICE, invalid("account_id")),
    ("sell: account too long", sell(account_id=TOO_LONG), ALICE, invalid("account_id")),
    ("sell: empty symbol", sell(symbol=""), ALICE, invalid("symbol")),
    ("sell: unknown symbol", sell(symbol="ZZZZ"), ALICE, invalid("symbol")),
    ("sell: lower-case symbol", sell(symbol="aapl"), ALICE, invalid("symbol")),
    ("sell: zero shares", sell(quantity=0), ALICE, invalid("quantity")),
    ("sell: negative shares", sell(quantity=-5), ALICE, invalid("quantity")),
    ("sell: over the order limit", sell(quantity=1_000_001), ALICE, invalid("quantity")),
    ("sell: largest int64", sell(quantity=2**63 - 1), ALICE, invalid("quantity")),
    ("sell: empty request id", sell(request_id=""), ALICE, invalid("request_id")),
    ("sell: request id too long", sell(request_id=TOO_LONG), ALICE, invalid("request_id")),
    ("sell: request id with a space", sell(request_id="a b"), ALICE, invalid("request_id")),
    ("sell: more than held", sell(quantity=1_000_000), ALICE,
     Refused(grpc.StatusCode.FAILED_PRECONDITION, reason="INSUFFICIENT_HOLDINGS")),
    ("sell: another customer's account", sell(account_id="acc-bob"), ALICE, NOT_OWNER),
    ("sell: unknown account", sell(account_id="acc-nobody"), ALICE, NOT_OWNER),
    ("sell: no token", sell(), None, NO_TOKEN),
    ("sell: no token and bad fields", sell(quantity=-1, symbol=""), None, NO_TOKEN),
    ("sell: wrong token", sell(), "Bearer not-a-token", BAD_TOKEN),
    ("sell: not a bearer token", sell(), "Basic YWxpY2U6cGFzcw==", BAD_TOKEN),
    ("sell: empty bearer token", sell(), "Bearer ", BAD_TOKEN),
    ("get order: empty id", gateway_pb2.GetOrderRequest(), ALICE, invalid("order_id")),
    ("get order: id too long", gateway_pb2.GetOrderRequest(order_id=TOO_LONG), ALICE,
     invalid("order_id")),
    ("get order: unknown id", gateway_pb2.GetOrderRequest(order_id="no-such-order"), ALICE,
     Refused(grpc.StatusCode.NOT_FOUND, reason="ORDER_NOT_FOUND")),
    ("get order: no token", gateway_pb2.GetOrderRequest(order_id="x"), None, NO_TOKEN),
    ("get order: wrong token", gateway_pb2.GetOrderRequest(order_id="x"), "Bearer nope",
     BAD_TOKEN),
    *account_reads(),
    ("list orders: negative page size",
     gateway_pb2.ListOrdersRequest(account_id="acc-alice", page_size=-1), ALICE,
     invalid("page_size")),
    ("list orders: not a page token",
     gateway_pb2.ListOrdersRequest(account_id="acc-alice", page_token="not-a-token"), ALICE,
     invalid("page_token")),
    ("list orders: page token too long",
     gateway_pb2.ListOrdersRequest(account_id="acc-alice", page_token="t" * 513), ALICE,
     invalid("page_token")),
    ("get order: NUL in the id", gateway_pb2.GetOrderRequest(order_id="o-\x00"), ALICE,
     invalid("order_id")),
]  # fmt: skip


def call(customer: Customer, request: Message, authorization: str | None) -> Message:
    """One call as the customer, with the given authorization header (none if None).

    The test makes some 300 calls as alice within seconds; one the gateway's rate limit refuses
    is called again after its RetryInfo delay, and the refusal a case expects is raised.
    """
    metadata = () if authorization is None else (("authorization", authorization),)
    stub = customer.stub
    method = {
        gateway_pb2.PlaceSellOrderRequest: stub.PlaceSellOrder,
        gateway_pb2.GetOrderRequest: stub.GetOrder,
        gateway_pb2.ListOrdersRequest: stub.ListOrders,
        gateway_pb2.GetPortfolioRequest: stub.GetPortfolio,
    }[type(request)]
    return customer.call(method, request, metadata)  # type: ignore[arg-type]


def state(mesh: Mesh, alice: Customer, bob: Customer) -> tuple[object, ...]:
    """Every database row, and both customers' portfolios and orders as the API shows them."""
    return (
        take_snapshot(mesh.databases),
        alice.portfolio(),
        bob.portfolio(),
        alice.orders(),
        bob.orders(),
    )


@pytest.fixture
def nothing_changes(mesh: Mesh, alice: Customer, bob: Customer) -> Iterator[None]:
    settle(mesh)
    before = state(mesh, alice, bob)
    yield
    assert state(mesh, alice, bob) == before


@pytest.mark.usefixtures("nothing_changes")
@pytest.mark.parametrize(
    ("request_message", "authorization", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_refused_with_details(
    alice: Customer, request_message: Message, authorization: str | None, expected: Refused
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(alice, request_message, authorization)

    refused = refusal(caught.value)
    assert (refused.code, refused.fields, refused.reason) == (
        expected.code,
        expected.fields,
        expected.reason,
    )
    assert refused.domain == ("" if expected.code is INVALID else "simplebank")


def test_a_customer_cannot_read_another_customers_order(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    order = alice.sell("MSFT", 1)
    alice.wait_for_status(order.order_id, FINAL, 10.0)
    settle(mesh)
    before = state(mesh, alice, bob)

    with pytest.raises(grpc.RpcError) as caught:
        bob.order(order.order_id)

    refused = refusal(caught.value)
    # Refused exactly like an id nobody used, so bob learns neither whose order it is nor
    # that it exists.
    assert (refused.code, refused.reason) == (grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")
    assert caught.value.details() == f"no order {order.order_id}"
    assert "acc-alice" not in f"{caught.value.details()} {refused.metadata}"
    assert state(mesh, alice, bob) == before
