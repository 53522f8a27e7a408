"""Metrics: the process's meter provider, served for Prometheus on the service's metrics port.

Names follow the OpenTelemetry semantic conventions v1.44.0 (the version the pinned
opentelemetry-semantic-conventions ships); config/prometheus/METRICS.md lists the exact
Prometheus names the alert rules read.
"""

from __future__ import annotations

import logging
import os
from wsgiref.simple_server import WSGIServer

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.semconv.schemas import Schemas
from prometheus_client import CollectorRegistry, start_http_server

from tracing.resource import process_resource

log = logging.getLogger(__name__)

SCHEMA_URL = Schemas.V1_44_0.value
# Seconds. 0.1 must be a boundary: the latency objective counts calls within 100 ms.
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.125,
    0.15,
    0.2,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
)


def meter(name: str) -> metrics.Meter:
    """A meter of the mesh's; before configure_metrics (or without it) its instruments do
    nothing, after it they record."""
    return metrics.get_meter(name, schema_url=SCHEMA_URL)


def metrics_enabled() -> bool:
    """The standard switch: OTEL_METRICS_EXPORTER=none turns metrics off (the benchmark's
    metrics-off configuration)."""
    return os.environ.get("OTEL_METRICS_EXPORTER", "prometheus") != "none"


def configure_metrics(service_name: str) -> CollectorRegistry:
    """Create the process's meter provider and make it global; returns what to serve."""
    registry = CollectorRegistry()
    # Prometheus's text exposition, which is all we serve, carries no exemplars, yet the SDK's
    # default filter (trace_based) has each recording in a sampled span offer one to a
    # reservoir: a third of a histogram recording's CPU for nothing. The standard variable
    # still chooses, when set.
    exemplars = (
        None if os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER") else AlwaysOffExemplarFilter()
    )
    durations = ExplicitBucketHistogramAggregation(DURATION_BUCKETS)
    provider = MeterProvider(
        resource=process_resource(service_name),
        metric_readers=[PrometheusMetricReader(registry=registry)],
        views=[
            View(instrument_name="rpc.*.call.duration", aggregation=durations),
            View(instrument_name="messaging.process.duration", aggregation=durations),
        ],
        exemplar_filter=exemplars,
    )
    metrics.set_meter_provider(provider)
    return registry


class MetricsEndpoint:
    """Serves the Prometheus exposition on `address` from a thread of its own."""

    def __init__(self, variable: str, address: str, registry: CollectorRegistry) -> None:
        self._variable = variable
        self._address = address
        self._registry = registry
        self._server: WSGIServer | None = None

    async def start(self) -> None:
        host, _, port = self._address.rpartition(":")
        try:
            self._server, _ = start_http_server(int(port), addr=host, registry=self._registry)
        except OSError as error:
            raise OSError(
                error.errno, f"{self._variable}={self._address}: {error.strerror}"
            ) from error
        log.info("metrics served", extra={"address": f"http://{self._address}/metrics"})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
