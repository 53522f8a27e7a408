"""The spans of a gRPC call: names, kinds, RPC attributes, error marks, and what is not traced."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mesh.calls.channels import make_channel
from mesh.errors import kinds
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.data.tracing import wait_for_spans
from tests.support.servers.grpc_servers import (
    FEE_SERVICE,
    QUOTE_FEE,
    Context,
    QuoteHandler,
    fake_fee_host,
    quote_100,
    quote_request,
)

pytestmark = pytest.mark.integration

BOTH_SIDES = {SpanKind.CLIENT, SpanKind.SERVER}


def raising(error: Exception) -> QuoteHandler:
    async def handle(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        raise error

    return handle


async def quote_fee_spans(
    spans: InMemorySpanExporter, handle: QuoteHandler
) -> dict[SpanKind, ReadableSpan]:
    """Make one QuoteFee call through a chassis channel and server; its spans by kind."""
    async with fake_fee_host(handle) as (_, target), make_channel(target) as channel:
        call = fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request())
        await call.code()
    finished = await wait_for_spans(
        spans, lambda found: {s.kind for s in found if s.name == QUOTE_FEE} == BOTH_SIDES
    )
    return {s.kind: s for s in finished if s.name == QUOTE_FEE}


def status_code_of(span: ReadableSpan) -> object:
    assert span.attributes is not None
    return span.attributes["rpc.grpc.status_code"]


async def test_a_call_has_a_client_and_a_server_span_with_the_rpc_attributes(
    spans: InMemorySpanExporter,
) -> None:
    by_kind = await quote_fee_spans(spans, quote_100)

    assert set(by_kind) == BOTH_SIDES
    for span in by_kind.values():
        assert span.attributes is not None
        assert span.attributes["rpc.system"] == "grpc"
        assert span.attributes["rpc.service"] == FEE_SERVICE
        assert span.attributes["rpc.method"] == f"{FEE_SERVICE}/QuoteFee"
        assert span.attributes["rpc.system.name"] == "grpc"
        assert span.attributes["rpc.response.status_code"] == "OK"
        assert status_code_of(span) == grpc.StatusCode.OK.value[0]
        assert span.status.status_code is not StatusCode.ERROR


async def test_a_refusal_is_an_error_for_the_caller_but_not_for_the_server(
    spans: InMemorySpanExporter,
) -> None:
    refused = kinds.FailedPrecondition("no shares", reason="INSUFFICIENT_HOLDINGS")

    by_kind = await quote_fee_spans(spans, raising(refused))

    code = grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert status_code_of(by_kind[SpanKind.CLIENT]) == code
    assert by_kind[SpanKind.CLIENT].status.status_code is StatusCode.ERROR
    assert status_code_of(by_kind[SpanKind.SERVER]) == code
    assert by_kind[SpanKind.SERVER].status.status_code is not StatusCode.ERROR
    for span in by_kind.values():
        assert span.attributes is not None
        assert span.attributes["rpc.response.status_code"] == "FAILED_PRECONDITION", span.kind


async def test_a_handler_that_crashes_marks_both_spans_failed(
    spans: InMemorySpanExporter,
) -> None:
    by_kind = await quote_fee_spans(spans, raising(RuntimeError("bug")))

    code = grpc.StatusCode.UNKNOWN.value[0]
    for span in by_kind.values():
        assert status_code_of(span) == code, span.kind
        assert span.status.status_code is StatusCode.ERROR, span.kind
        assert span.attributes is not None
        assert span.attributes["rpc.response.status_code"] == "UNKNOWN", span.kind
    # Recorded twice by the instrumentation (open-telemetry/opentelemetry-python-contrib#5068).
    recorded = [
        event.attributes["exception.type"]
        for event in by_kind[SpanKind.SERVER].events
        if event.name == "exception" and event.attributes is not None
    ]
    assert "RuntimeError" in recorded


async def first_watch_status(stub: health_pb2_grpc.HealthStub) -> object:
    async for answer in stub.Watch(health_pb2.HealthCheckRequest(service=FEE_SERVICE)):
        return answer.status
    return None


async def list_services(stub: reflection_pb2_grpc.ServerReflectionStub) -> list[str]:
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for answer in stub.ServerReflectionInfo(iter([request])):
        return [s.name for s in answer.list_services_response.service]
    return []


async def test_health_and_reflection_calls_work_and_leave_no_spans(
    spans: InMemorySpanExporter,
) -> None:
    async with fake_fee_host() as (_, target), make_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        checked = await health.Check(health_pb2.HealthCheckRequest(service=FEE_SERVICE))
        watched = await first_watch_status(health)
        listed = await list_services(reflection_pb2_grpc.ServerReflectionStub(channel))
        # A traced call last: once its spans are in, the earlier calls' would be too.
        await fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request())

    finished = await wait_for_spans(
        spans, lambda found: {s.kind for s in found if s.name == QUOTE_FEE} == BOTH_SIDES
    )
    assert checked.status == watched == health_pb2.HealthCheckResponse.SERVING
    assert FEE_SERVICE in listed
    assert {span.name for span in finished} == {QUOTE_FEE}
