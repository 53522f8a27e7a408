"""tooling/cli/trace.py turns Jaeger's /api/traces JSON into a readable tree of spans."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tooling.cli.trace import ERROR_MARK, Node, build_tree, parse_spans, render_tree, summarize

FIXTURE = Path(__file__).parent / "fixtures" / "jaeger_trace.json"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def trace() -> dict[str, Any]:
    """A sell order's trace as Jaeger returns it: gateway -> orders -> accounts, then an event."""
    payload: dict[str, Any] = json.loads(FIXTURE.read_text())
    trace: dict[str, Any] = payload["data"][0]
    return trace


def span_json(
    span_id: str, parent: str | None = None, ref_type: str = "CHILD_OF", **extra: Any
) -> dict[str, Any]:
    """A minimal Jaeger span of service "svc"; `extra` overrides any field."""
    references = [] if parent is None else [{"refType": ref_type, "spanID": parent}]
    span = {
        "spanID": span_id,
        "operationName": f"op-{span_id}",
        "references": references,
        "startTime": 0,
        "duration": 1000,
        "tags": [],
        "processID": "p1",
    }
    return {**span, **extra}


def trace_of(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"spans": list(spans), "processes": {"p1": {"serviceName": "svc"}}}


def tree_and_service(line: str) -> str:
    """The start of a drawn line: its branches and the span's service."""
    match = re.match(r"[ │├└─]*\S+", line)
    assert match is not None
    return match.group()


def outline(nodes: list[Node], depth: int = 0) -> list[str]:
    """The tree's shape alone: "service operation" of each span, indented under its parent."""
    lines = []
    for node in nodes:
        lines.append(f"{'  ' * depth}{node.span.service} {node.span.operation}")
        lines.extend(outline(node.children, depth + 1))
    return lines


def test_a_span_carries_its_service_kind_timing_and_error(trace: dict[str, Any]) -> None:
    spans = {span.span_id: span for span in parse_spans(trace)}

    consumer = spans["0707070707070707"]

    assert consumer.service == "market"
    assert consumer.operation == "simplebank.events.OrderCreated process"
    assert consumer.kind == "consumer"
    assert consumer.parent_id == "f6f6f6f6f6f6f6f6"
    assert consumer.duration_us == 5250
    assert consumer.error is True
    assert spans["a1a1a1a1a1a1a1a1"].error is False


def test_children_hang_under_their_parents_sorted_by_start_time(trace: dict[str, Any]) -> None:
    roots = build_tree(parse_spans(trace))

    assert outline(roots) == [
        "gateway /simplebank.gateway.v1.GatewayService/PlaceSellOrder",
        "  gateway /simplebank.orders.v1.OrderService/PlaceOrder",
        "    orders /simplebank.orders.v1.OrderService/PlaceOrder",
        "      orders /simplebank.accounts.v1.AccountService/ReserveHoldings",
        "        accounts /simplebank.accounts.v1.AccountService/ReserveHoldings",
        "      orders simplebank.events.OrderCreated publish",
        "        market simplebank.events.OrderCreated process",
    ]


def test_the_tree_is_drawn_with_branches_and_aligned_columns(trace: dict[str, Any]) -> None:
    lines = render_tree(build_tree(parse_spans(trace)))

    assert [tree_and_service(line) for line in lines] == [
        "gateway",
        "└─ gateway",
        "   └─ orders",
        "      ├─ orders",
        "      │  └─ accounts",
        "      └─ orders",
        "         └─ market",
    ]
    assert len({line.index("  at +") for line in lines}) == 1


def test_a_line_shows_kind_duration_in_ms_and_start_offset(trace: dict[str, Any]) -> None:
    lines = render_tree(build_tree(parse_spans(trace)))

    consumer_line = lines[-1]

    assert " consumer " in consumer_line
    assert " 5.2 ms  at +16.0 ms" in consumer_line


def test_only_failed_spans_carry_the_error_mark(trace: dict[str, Any]) -> None:
    lines = render_tree(build_tree(parse_spans(trace)))

    marked = [line for line in lines if line.endswith(ERROR_MARK)]

    assert marked == [lines[-1]]
    assert "market" in marked[0]


def test_the_summary_counts_spans_services_failures_and_total_time(trace: dict[str, Any]) -> None:
    summary = summarize(TRACE_ID, parse_spans(trace))

    assert summary == (
        f"trace {TRACE_ID}: 7 spans from 4 services (accounts, gateway, market, orders) "
        "in 21.2 ms, 1 failed"
    )


@pytest.mark.parametrize(
    ("tags", "failed"),
    [
        ([{"key": "error", "type": "bool", "value": True}], True),
        ([{"key": "error", "type": "string", "value": "true"}], True),
        ([{"key": "otel.status_code", "type": "string", "value": "ERROR"}], True),
        ([{"key": "otel.status_code", "type": "string", "value": "OK"}], False),
        ([], False),
    ],
)
def test_a_span_failed_if_either_error_tag_says_so(
    tags: list[dict[str, Any]], failed: bool
) -> None:
    [span] = parse_spans(trace_of(span_json("s1", tags=tags)))

    assert span.error is failed


def test_a_span_without_a_kind_tag_is_internal() -> None:
    [span] = parse_spans(trace_of(span_json("s1")))

    assert span.kind == "internal"


def test_a_span_whose_parent_has_not_arrived_becomes_a_root() -> None:
    spans = parse_spans(
        trace_of(
            span_json("late", parent="missing", startTime=20),
            span_json("root", startTime=10),
        )
    )

    roots = build_tree(spans)

    assert [root.span.span_id for root in roots] == ["root", "late"]


def test_a_follows_from_reference_links_a_span_when_there_is_no_child_of() -> None:
    spans = parse_spans(
        trace_of(span_json("root"), span_json("linked", parent="root", ref_type="FOLLOWS_FROM"))
    )

    [root] = build_tree(spans)

    assert [child.span.span_id for child in root.children] == ["linked"]


def test_an_empty_trace_draws_nothing() -> None:
    assert render_tree(build_tree([])) == []
    assert summarize(TRACE_ID, []) == f"trace {TRACE_ID}: no spans"
