"""One order placed with grpcurl is one trace in Jaeger, found through its x-trace-id trailer.

The trace holds spans of all five services, and its parent -> child edges follow the order:
gRPC from the gateway to orders to accounts, then messages from orders to market and from market
to fees, accounts and orders.
"""

from __future__ import annotations

import json
import re

import pytest

from mesh.topology import NAMES
from tests.e2e.commands import grpcurl
from tests.e2e.launcher import LaunchedMesh
from tests.e2e.traces import Edge, Like, Trace, wait_for_trace

pytestmark = pytest.mark.e2e

FIVE_SERVICES = set(NAMES)
ORDER_CREATED = "simplebank.events.OrderCreated"
PLACE_SELL_ORDER = Like("gateway", "server", "/PlaceSellOrder")
EXECUTE_ORDER = Like("market", "internal", "execute order")
REJECTION_APPLIED = Like("orders", "consumer", "process simplebank.events.OrderRejected")

SELL_ORDER_EDGES: list[Edge] = [
    (PLACE_SELL_ORDER, Like("gateway", "client", "/PlaceOrder")),
    (Like("gateway", "client", "/PlaceOrder"), Like("orders", "server", "/PlaceOrder")),
    (Like("orders", "server", "/PlaceOrder"), Like("orders", "client", "/ReserveHoldings")),
    (Like("orders", "client", "/ReserveHoldings"), Like("accounts", "server", "/ReserveHoldings")),
    # The outbox keeps the request's context, so the publish is a child of PlaceOrder.
    (Like("orders", "server", "/PlaceOrder"), Like("orders", "producer", f"send {ORDER_CREATED}")),
    (
        Like("orders", "producer", f"send {ORDER_CREATED}"),
        Like("market", "consumer", f"process {ORDER_CREATED}"),
    ),
    (Like("market", "producer"), Like("fees", "consumer")),
    (Like("market", "producer"), Like("accounts", "consumer")),
    (Like("market", "producer"), Like("orders", "consumer")),
]


def sell_with_grpcurl(mesh: LaunchedMesh, customer: str, symbol: str, quantity: int) -> str:
    """Place an order as docs/grpcurl.md does, with `grpcurl -v`; the trace id from its header."""
    body = {
        "account_id": f"acc-{customer}",
        "symbol": symbol,
        "quantity": quantity,
        "request_id": f"e2e-trace-{customer}-{symbol}",
    }
    placed = grpcurl(
        "-v",
        *("-H", f"authorization: Bearer {customer}-token", "-d", json.dumps(body)),
        mesh.gateway,
        "simplebank.gateway.v1.GatewayService/PlaceSellOrder",
    )
    assert placed.returncode == 0, placed.output
    header = re.search(r"^x-trace-id: ([0-9a-f]{32})$", placed.output, re.MULTILINE)
    assert header is not None, f"no x-trace-id trailer:\n{placed.output}"
    return header.group(1)


def assert_one_root_in_the_gateway(trace: Trace) -> None:
    roots = trace.roots()
    assert len(roots) == 1, f"{len(roots)} roots:\n{trace}"
    assert PLACE_SELL_ORDER(roots[0]), f"the root is {roots[0]}"


def test_a_sell_order_is_one_trace_through_all_five_services(mesh: LaunchedMesh) -> None:
    trace_id = sell_with_grpcurl(mesh, "alice", "MSFT", 2)

    trace = wait_for_trace(
        mesh.jaeger_url,
        trace_id,
        lambda t: t.whole() and not t.missing_edges(SELL_ORDER_EDGES),
    )

    assert trace.services() == FIVE_SERVICES, f"services {sorted(trace.services())}:\n{trace}"
    assert {"producer", "consumer"} <= trace.kinds(), trace
    assert not trace.missing_edges(SELL_ORDER_EDGES), "\n".join(
        ["edges missing:", *trace.missing_edges(SELL_ORDER_EDGES), "in:", str(trace)]
    )
    assert_one_root_in_the_gateway(trace)
    assert not trace.failed(), trace


def test_a_rejected_order_marks_the_error_on_the_span_where_it_happened(
    mesh: LaunchedMesh,
) -> None:
    """make run halts GOOG: the market rejects bob's order after the gateway has answered."""
    trace_id = sell_with_grpcurl(mesh, "bob", "GOOG", 3)

    trace = wait_for_trace(
        mesh.jaeger_url,
        trace_id,
        lambda t: t.whole() and t.has(EXECUTE_ORDER) and t.has(REJECTION_APPLIED),
    )

    failed = trace.failed()
    assert failed, f"no span marks the error:\n{trace}"
    assert all(EXECUTE_ORDER(span) for span in failed), f"errors elsewhere:\n{trace}"
    assert not any(span.service == "gateway" for span in failed)
    assert_one_root_in_the_gateway(trace)
