"""config/jaeger.yaml: Jaeger takes OTLP spans, answers its query API, and stays on loopback."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, format_trace_id

from tests.support.servers.jaeger import JaegerInstance, fetch_services, run_jaeger, wait_for_trace
from tests.support.servers.processes import listening_addresses

SERVICE = "jaeger-config-test"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JaegerInstance]:
    with run_jaeger(tmp_path_factory.mktemp("jaeger")) as instance:
        yield instance


def send_failed_server_span(otlp_endpoint: str, name: str) -> str:
    """Export one SERVER span with an error status, as a service would; return its trace id."""
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(otlp_endpoint, insecure=True)))
    try:
        tracer = provider.get_tracer(__name__)
        with tracer.start_as_current_span(name, kind=SpanKind.SERVER) as span:
            span.set_status(Status(StatusCode.ERROR, "insufficient holdings"))
            return format_trace_id(span.get_span_context().trace_id)
    finally:
        provider.shutdown()


def tag(span: dict[str, object], key: str) -> object:
    tags = span["tags"]
    assert isinstance(tags, list)
    return next((t["value"] for t in tags if t["key"] == key), None)


def test_a_span_sent_over_otlp_can_be_read_back_from_the_query_api(jaeger: JaegerInstance) -> None:
    trace_id = send_failed_server_span(jaeger.otlp_endpoint, "PlaceSellOrder")

    trace = wait_for_trace(jaeger.query_url, trace_id, timeout=10)

    [span] = trace["spans"]
    assert span["traceID"] == trace_id
    assert span["operationName"] == "PlaceSellOrder"
    assert trace["processes"][span["processID"]]["serviceName"] == SERVICE
    assert SERVICE in fetch_services(jaeger.query_url)


def test_span_kind_and_error_status_become_tags(jaeger: JaegerInstance) -> None:
    trace_id = send_failed_server_span(jaeger.otlp_endpoint, "GetOrder")

    [span] = wait_for_trace(jaeger.query_url, trace_id, timeout=10)["spans"]

    assert tag(span, "span.kind") == "server"
    assert tag(span, "error") is True
    assert tag(span, "otel.status_code") == "ERROR"


def test_jaeger_listens_on_loopback_only(jaeger: JaegerInstance) -> None:
    addresses = listening_addresses(jaeger.pid)

    assert addresses, "found no listening sockets at all"
    assert all(ipaddress.ip_address(ip).is_loopback for ip, _ in addresses), addresses
