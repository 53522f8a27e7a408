"""Tracing is configured as OpenTelemetry's users expect: the standard OTEL_* variables are
honoured, and the mesh's own defaults fill in only the ones that are unset."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as OTLPHttpSpanExporter,
)

from tracing import setup

VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_BSP_SCHEDULE_DELAY",
)


@pytest.fixture(autouse=True)
def no_otel_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_unset_the_collector_on_loopback_is_the_default() -> None:
    exporter = setup.span_exporter()

    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "127.0.0.1:4317"
    assert exporter._timeout == setup.EXPORT_TIMEOUT_SECONDS


def test_the_standard_endpoint_and_timeout_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.example:14317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "7")

    exporter = setup.span_exporter()

    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "collector.example:14317"
    assert exporter._timeout == 7


def test_the_http_protocol_exports_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9999/v1/traces")

    exporter = setup.span_exporter()

    assert isinstance(exporter, OTLPHttpSpanExporter)
    assert exporter._endpoint == "http://127.0.0.1:9999/v1/traces"


def test_an_unknown_protocol_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")

    with pytest.raises(ValueError, match="http/json"):
        setup.span_exporter()


def test_a_default_applies_only_while_its_variable_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert setup.unless_set(500, "OTEL_BSP_SCHEDULE_DELAY") == 500
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "5000")
    assert setup.unless_set(500, "OTEL_BSP_SCHEDULE_DELAY") is None
