"""Builds the tracer provider from the standard OTEL_* variables and shuts it down safely."""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tracing.resource import process_resource

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://127.0.0.1:4317"
# A collector that is down must not hold a service up: exports give up quickly, in the
# background thread of the batch processor, and spans beyond the queue are dropped.
EXPORT_TIMEOUT_SECONDS = 2.0


def configure_tracing(service_name: str) -> TracerProvider:
    """Create the process's tracer provider, exporting over OTLP/gRPC, and make it global.

    The SDK itself reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
    """
    env = os.environ
    provider = TracerProvider(resource=process_resource(service_name))
    if env.get("OTEL_TRACES_EXPORTER", "otlp") != "none":
        exporter = OTLPSpanExporter(
            endpoint=env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", DEFAULT_ENDPOINT),
            insecure=True,
            timeout=float(env.get("OTEL_EXPORTER_OTLP_TIMEOUT", EXPORT_TIMEOUT_SECONDS)),
        )
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    return provider


def shutdown_tracing(provider: TracerProvider) -> None:
    """Flush what can be flushed quickly, then stop; never raises."""
    try:
        provider.force_flush(timeout_millis=int(EXPORT_TIMEOUT_SECONDS * 1000))
        provider.shutdown()
    except Exception:  # shutting down must go on whatever the exporter does
        log.exception("tracing shutdown failed")
