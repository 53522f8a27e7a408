"""One trace across hops: a gRPC call, a message-header hop, an event through outbox and NATS."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind

from mesh.calls.channels import make_channel
from mesh.events.consumer import EventConsumer, Subscription
from mesh.events.outbox import OutboxRelay
from mesh.storage.unit_of_work import UnitOfWork
from mesh.trace_header import TraceIdHeaderInterceptor
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.data.events import (
    CODEC,
    ORDER_CREATED,
    OrderCreated,
    connected_bus,
    eventually,
    order_created,
    provision_consumer,
    running,
    service_database,
    store_event,
)
from tests.support.data.tracing import wait_for_spans
from tests.support.servers.grpc_servers import (
    QUOTE_FEE,
    Context,
    FakeFeeServicer,
    fake_fee_host,
    fee_service,
    local,
    quote_100,
    quote_request,
    serving,
)
from tests.support.servers.nats import NatsServer, run_nats
from tracing.messaging import capture_context, consumer_span, producer_span
from tracing.rpc import TRACE_ID_HEADER

pytestmark = pytest.mark.integration

tracer = trace.get_tracer(__name__)


def only(spans: Sequence[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    [found] = [s for s in spans if s.name == name and s.kind is kind]
    return found


def has(*wanted: tuple[str, SpanKind]) -> Callable[[Sequence[ReadableSpan]], bool]:
    """A condition: every (name, kind) in `wanted` is among the finished spans."""
    return lambda spans: all(
        any(s.name == name and s.kind is kind for s in spans) for name, kind in wanted
    )


def context_of(span: ReadableSpan) -> SpanContext:
    context: SpanContext | None = span.context
    assert context is not None
    return context


def assert_child_of(child: ReadableSpan, parent: ReadableSpan) -> None:
    assert child.parent is not None, f"{child.name} has no parent"
    assert child.parent.trace_id == context_of(parent).trace_id
    assert child.parent.span_id == context_of(parent).span_id, (
        f"{child.name}'s parent is not {parent.name}"
    )


async def test_a_span_context_crosses_a_grpc_hop(spans: InMemorySpanExporter) -> None:
    seen_in_handler: list[SpanContext] = []

    async def handle(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        seen_in_handler.append(trace.get_current_span().get_span_context())
        return await quote_100(request, context)

    async with fake_fee_host(handle) as (_, target), make_channel(target) as channel:
        with tracer.start_as_current_span("caller") as caller:
            call = fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request())
            await call
            headers = dict(await call.initial_metadata())

    finished = await wait_for_spans(
        spans, has((QUOTE_FEE, SpanKind.SERVER), (QUOTE_FEE, SpanKind.CLIENT))
    )

    client = only(finished, QUOTE_FEE, SpanKind.CLIENT)
    server = only(finished, QUOTE_FEE, SpanKind.SERVER)
    trace_id = caller.get_span_context().trace_id
    assert context_of(client).trace_id == context_of(server).trace_id == trace_id
    assert_child_of(server, client)
    assert client.parent is not None
    assert client.parent.span_id == caller.get_span_context().span_id
    assert seen_in_handler == [context_of(server)]
    assert TRACE_ID_HEADER not in headers  # only the gateway answers it (mesh/trace_header.py)


async def test_the_edge_answers_the_trace_id_in_a_trailer(spans: InMemorySpanExporter) -> None:
    """What the gateway installs: the call's trace id comes back in the trailers, not as a
    header of its own."""
    service = dataclasses.replace(
        fee_service(FakeFeeServicer(quote_100)), interceptors=[TraceIdHeaderInterceptor()]
    )
    async with serving(service) as host, make_channel(local(host)) as channel:
        with tracer.start_as_current_span("caller") as caller:
            call = fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request())
            await call
            headers = dict(await call.initial_metadata())
            trailers = dict(await call.trailing_metadata())

    assert trailers[TRACE_ID_HEADER] == format(caller.get_span_context().trace_id, "032x")
    assert TRACE_ID_HEADER not in headers


async def test_a_span_context_crosses_a_message_header_hop(spans: InMemorySpanExporter) -> None:
    with tracer.start_as_current_span("place order"):
        stored = capture_context()
    # Later, elsewhere: the relay publishes with the context stored beside the event.
    with producer_span(ORDER_CREATED, "o-1/OrderCreated", stored) as (_, headers):
        pass
    assert "traceparent" in headers

    with consumer_span(ORDER_CREATED, "o-1/OrderCreated", headers) as span:
        in_consumer = span.get_span_context()

    finished = spans.get_finished_spans()
    origin = only(finished, "place order", SpanKind.INTERNAL)
    producer = only(finished, f"send {ORDER_CREATED}", SpanKind.PRODUCER)
    consumer = only(finished, f"process {ORDER_CREATED}", SpanKind.CONSUMER)
    assert_child_of(producer, origin)
    assert_child_of(consumer, producer)
    assert context_of(consumer) == in_consumer
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.message.id"] == "o-1/OrderCreated"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    with run_nats(tmp_path) as server:
        yield server


async def test_a_span_context_crosses_outbox_relay_nats_and_consumer(
    spans: InMemorySpanExporter, nats_server: NatsServer, tmp_path: Path
) -> None:
    in_handler: list[SpanContext] = []

    def handle(event: OrderCreated, uow: UnitOfWork) -> None:
        in_handler.append(trace.get_current_span().get_span_context())

    async with (
        service_database(tmp_path / "svc.sqlite3") as database,
        connected_bus(nats_server.url, "svc") as bus,
    ):
        relay = OutboxRelay(database, bus, poll_interval=0.05)
        await provision_consumer(await bus.jetstream(), "svc")
        consumer = EventConsumer("svc", [Subscription(OrderCreated, handle)], database, bus, CODEC)
        with tracer.start_as_current_span("place order"):
            await store_event(database, "o-1/OrderCreated", order_created("o-1"))
        async with running(relay, consumer):
            await eventually(lambda: handled(in_handler), 10.0, "the event handled")

    finished = await wait_for_spans(spans, has((f"process {ORDER_CREATED}", SpanKind.CONSUMER)))
    origin = only(finished, "place order", SpanKind.INTERNAL)
    producer = only(finished, f"send {ORDER_CREATED}", SpanKind.PRODUCER)
    consumer_span_ = only(finished, f"process {ORDER_CREATED}", SpanKind.CONSUMER)
    assert_child_of(producer, origin)
    assert_child_of(consumer_span_, producer)
    assert in_handler == [context_of(consumer_span_)]


async def handled(in_handler: list[SpanContext]) -> bool:
    return bool(in_handler)
