"""Builds the tracer provider from the standard OTEL_* variables and shuts it down safely."""

from __future__ import annotations

import logging
import os
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as OTLPHttpSpanExporter,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from tracing.resource import process_resource

log = logging.getLogger(__name__)
T = TypeVar("T")

# The mesh's defaults where the standard variable is unset: the collector on loopback (plaintext,
# from the http:// scheme), and a collector that is down must not hold a service up: exports give
# up quickly, in the background thread of the batch processor, and spans beyond the queue are
# dropped; spans leave once a second, so a trace is whole in Jaeger soon after its order (the
# batch processor's thread wakes at this pace even when idle: 500 ms cost twice as much).
DEFAULT_ENDPOINT = "http://127.0.0.1:4317"
DEFAULT_HTTP_ENDPOINT = "http://127.0.0.1:4318/v1/traces"
EXPORT_TIMEOUT_SECONDS = 2.0
SCHEDULE_DELAY_MILLIS = 1000


def configure_tracing(service_name: str) -> TracerProvider:
    """Create the process's tracer provider, exporting over OTLP, and make it global.

    Every standard OTEL_* variable is honoured, read by the SDK and the exporter themselves:
    OTEL_TRACES_SAMPLER(_ARG), OTEL_TRACES_EXPORTER (otlp or none), OTEL_EXPORTER_OTLP_(TRACES_)
    ENDPOINT, _PROTOCOL (grpc or http/protobuf), _INSECURE, _HEADERS, _TIMEOUT, _CERTIFICATE,
    _COMPRESSION and the batch processor's OTEL_BSP_*. This code only fills in the mesh's defaults
    above for the ones that are unset.
    """
    provider = TracerProvider(resource=process_resource(service_name))
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp") != "none":
        delay = unless_set(SCHEDULE_DELAY_MILLIS, "OTEL_BSP_SCHEDULE_DELAY")
        provider.add_span_processor(
            BatchSpanProcessor(span_exporter(), schedule_delay_millis=delay)
        )
    trace.set_tracer_provider(provider)
    return provider


def span_exporter() -> SpanExporter:
    """OTLP over gRPC, or over HTTP when OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says http/protobuf."""
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    )
    endpoints = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    timeout = unless_set(
        EXPORT_TIMEOUT_SECONDS, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"
    )
    if protocol == "grpc":
        return OTLPSpanExporter(endpoint=unless_set(DEFAULT_ENDPOINT, *endpoints), timeout=timeout)
    if protocol == "http/protobuf":
        endpoint = unless_set(DEFAULT_HTTP_ENDPOINT, *endpoints)
        return OTLPHttpSpanExporter(endpoint=endpoint, timeout=timeout)
    raise ValueError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: this mesh exports grpc or http/protobuf"
    )


def unless_set(default: T, *variables: str) -> T | None:
    """`default` when none of the standard `variables` is set; None lets the SDK read them."""
    return None if any(os.environ.get(variable) for variable in variables) else default


def shutdown_tracing(provider: TracerProvider) -> None:
    """Flush what can be flushed quickly, then stop; never raises."""
    try:
        provider.force_flush(timeout_millis=int(EXPORT_TIMEOUT_SECONDS * 1000))
        provider.shutdown()
    except Exception:  # shutting down must go on whatever the exporter does
        log.exception("tracing shutdown failed")
