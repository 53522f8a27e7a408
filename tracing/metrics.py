"""Metrics: the process's meter provider, served for Prometheus on the service's metrics port.

Names follow the OpenTelemetry semantic conventions v1.44.0 (the version the pinned
opentelemetry-semantic-conventions ships); config/prometheus/METRICS.md lists the exact
Prometheus names the alert rules read.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.semconv.schemas import Schemas
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

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


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not worth a log line each."""


class MetricsEndpoint:
    """Serves the Prometheus exposition on `address` from a thread of its own.

    prometheus_client's app and threading server, the way its start_http_server builds them,
    but served without a timeout: start_http_server's thread wakes every 0.5 s to look for a
    shutdown, 12 ms of CPU a minute in a process that otherwise sleeps. This one sleeps until a
    scrape comes; stopping wakes it with a connection of its own.
    """

    def __init__(self, variable: str, address: str, registry: CollectorRegistry) -> None:
        self._variable = variable
        self._address = address
        self._registry = registry
        self._server: WSGIServer | None = None

    async def start(self) -> None:
        host, _, port = self._address.rpartition(":")
        try:
            self._server = make_server(
                host, int(port), make_wsgi_app(self._registry), ThreadingWSGIServer, _Quiet
            )
        except OSError as error:
            raise OSError(
                error.errno, f"{self._variable}={self._address}: {error.strerror}"
            ) from error
        serving = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": None},
            name="metrics-endpoint",
            daemon=True,
        )
        serving.start()
        log.info("metrics served", extra={"address": f"http://{self._address}/metrics"})

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # shutdown() waits for the serving loop to see its flag, which it does when woken:
        # knock until it has.
        stopping = threading.Thread(target=server.shutdown, name="metrics-endpoint-stop")
        stopping.start()
        host, port = server.server_address[:2]
        while stopping.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection((str(host), int(port)), timeout=1).close()
            stopping.join(0.05)
        server.server_close()
