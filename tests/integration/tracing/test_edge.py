"""At the public edge a caller cannot choose the trace: with tracing.edge's propagator, a call
that sends a `traceparent` gets a new trace of its own, linked to the caller's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import grpc
import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mesh.span_marks import ClientTraceLinkInterceptor
from simplebank.fees.v1 import fees_pb2_grpc
from tests.support.data.tracing import wait_for_spans
from tests.support.servers.grpc_servers import (
    QUOTE_FEE,
    FakeFeeServicer,
    fee_service,
    local,
    quote_request,
    serving,
)
from tracing.edge import start_own_traces

pytestmark = pytest.mark.integration

CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"


@pytest.fixture
def at_the_edge() -> Iterator[None]:
    """This process as the gateway's: its own traces for what it serves (restored after)."""
    before = propagate.get_global_textmap()
    start_own_traces()
    try:
        yield
    finally:
        propagate.set_global_textmap(before)


async def served_span(
    spans: InMemorySpanExporter, metadata: tuple[tuple[str, str], ...]
) -> ReadableSpan:
    """The SERVER span of one QuoteFee call sent with `metadata`."""
    service = fee_service(FakeFeeServicer())
    service = dataclasses.replace(service, interceptors=[ClientTraceLinkInterceptor()])
    async with serving(service) as host, grpc.aio.insecure_channel(local(host)) as channel:
        await fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request(), metadata=metadata)
    finished = await wait_for_spans(
        spans, lambda found: any(s.name == QUOTE_FEE and s.kind is SpanKind.SERVER for s in found)
    )
    return next(s for s in finished if s.name == QUOTE_FEE and s.kind is SpanKind.SERVER)


async def test_a_callers_traceparent_is_a_link_not_the_parent(
    spans: InMemorySpanExporter, at_the_edge: None
) -> None:
    span = await served_span(spans, (("traceparent", TRACEPARENT),))

    assert format(span.context.trace_id, "032x") != CLIENT_TRACE
    assert span.parent is None
    linked = [
        (format(link.context.trace_id, "032x"), format(link.context.span_id, "016x"))
        for link in span.links
    ]
    assert linked == [(CLIENT_TRACE, CLIENT_SPAN)]


async def test_a_call_without_a_traceparent_has_no_link(
    spans: InMemorySpanExporter, at_the_edge: None
) -> None:
    span = await served_span(spans, ())

    assert span.parent is None
    assert list(span.links) == []


async def test_inside_the_mesh_the_callers_context_is_the_parent(
    spans: InMemorySpanExporter,
) -> None:
    """Without the edge's propagator (every other service), the caller's trace is joined."""
    span = await served_span(spans, (("traceparent", TRACEPARENT),))

    assert format(span.context.trace_id, "032x") == CLIENT_TRACE
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CLIENT_SPAN
