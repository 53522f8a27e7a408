"""Log records reach a real VictoriaLogs over OTLP/HTTP with their service, trace and span; a
store that is down costs dropped (and counted) records, never a blocked service; back, it gets
new ones."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import format_span_id, format_trace_id

from tests.support.data.tracing import record_spans
from tests.support.servers.victorialogs import LogStore, run_victorialogs
from tooling.cli.log_store import LogLine, build_query, fetch
from tracing import log_shipping
from tracing.log_shipping import LogShipping, configure_log_shipping, shutdown_log_shipping

pytestmark = pytest.mark.integration

SERVICE = "orders"
ARRIVAL_TIMEOUT_SECONDS = 15.0
log = logging.getLogger("services.orders.handlers")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LogStore]:
    with run_victorialogs(tmp_path) as running:
        yield running


@pytest.fixture
def shipping(store: LogStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogShipping]:
    """Shipping set up as a service sets it up, into the test's store."""
    for name, value in store.shipping_env.items():
        monkeypatch.setenv(name, value)
    record_spans()
    logging.getLogger().setLevel(logging.INFO)
    shipping = configure_log_shipping(SERVICE)
    assert shipping is not None
    yield shipping
    shutdown_log_shipping(shipping)


def wait_for_lines(store: LogStore, query: str, count: int) -> list[LogLine]:
    """Poll until the store has `count` lines matching `query` (records arrive in batches)."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
    while True:
        lines = fetch(store.url, query)
        if len(lines) >= count or time.monotonic() >= deadline:
            return lines
        time.sleep(0.2)


def test_a_record_arrives_with_its_service_level_trace_span_logger_and_fields(
    store: LogStore, shipping: LogShipping
) -> None:
    with trace.get_tracer(__name__).start_as_current_span("place order") as span:
        log.warning("order placed", extra={"order_id": "o-1", "quantity": 10})
        trace_id = format_trace_id(span.get_span_context().trace_id)
        span_id = format_span_id(span.get_span_context().span_id)

    [line] = wait_for_lines(store, build_query(trace_id=trace_id), 1)

    assert line == LogLine(
        time=line.time,
        level="WARNING",
        service=SERVICE,
        logger="services.orders.handlers",
        message="order placed",
        trace_id=trace_id,
        span_id=span_id,
        extra={"order_id": "o-1", "quantity": "10"},
    )


def test_without_the_variable_nothing_is_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(log_shipping.ENDPOINT_VARIABLE, raising=False)

    assert configure_log_shipping(SERVICE) is None


def test_a_store_that_is_down_drops_and_counts_records_and_takes_new_ones_once_back(
    store: LogStore, shipping: LogShipping, caplog: pytest.LogCaptureFixture
) -> None:
    store.stop()
    more_than_fit = log_shipping.QUEUE_CAPACITY + 500

    for number in range(more_than_fit):  # returns: logging never waits for the store
        log.info("while the store is away", extra={"number": number})
    shipping.provider.force_flush()

    assert shipping.dropped == more_than_fit
    away = [r for r in caplog.records if "did not take" in r.getMessage()]
    assert len(away) == 1, [r.getMessage() for r in away]

    store.start()
    log.info("the store is back")
    arrived = wait_for_lines(store, '"the store is back"', 1)

    assert [line.message for line in arrived] == ["the store is back"]
    assert any("is back" in r.getMessage() for r in caplog.records)
    assert not fetch(store.url, '"while the store is away"')
