"""The log store's web UI (vmui), rendered by headless Chromium: a query by trace id shows that
trace's lines, with the trace id, service, level and message in the rendered page."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import format_trace_id

from tests.integration.tracing.test_log_shipping import wait_for_lines
from tests.support.data.tracing import record_spans
from tests.support.servers.victorialogs import LogStore, run_victorialogs
from tests.support.tools.browser import RESULTS, render
from tooling.cli.log_store import build_query, ui_url
from tracing.log_shipping import configure_log_shipping, shutdown_log_shipping

pytestmark = pytest.mark.integration

log = logging.getLogger("services.orders.handlers")
MESSAGES = ("order stored", "holdings reserved", "outbox relayed")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogStore]:
    with run_victorialogs(tmp_path) as running:
        for name, value in running.shipping_env.items():
            monkeypatch.setenv(name, value)
        yield running


def ship_one_trace(store: LogStore) -> str:
    """Three lines of one trace, shipped as a service ships them; its trace id once stored."""
    record_spans()
    logging.getLogger().setLevel(logging.INFO)
    shipping = configure_log_shipping("orders")
    try:
        with trace.get_tracer(__name__).start_as_current_span("place order") as span:
            for message in MESSAGES:
                log.info(message)
            trace_id = format_trace_id(span.get_span_context().trace_id)
    finally:
        shutdown_log_shipping(shipping)
    assert len(wait_for_lines(store, build_query(trace_id=trace_id), len(MESSAGES))) == 3
    return trace_id


def test_the_log_store_ui_shows_a_traces_lines_in_a_real_browser(store: LogStore) -> None:
    trace_id = ship_one_trace(store)

    dom, screenshot = render(
        ui_url(store.url, build_query(trace_id=trace_id)), RESULTS / "vmui-trace.png"
    )

    # The query box holds the id once; each of the three rows shows it again.
    assert len(re.findall(trace_id, dom)) >= 1 + len(MESSAGES), dom[-3000:]
    for message in MESSAGES:
        assert f'"_msg": "{message}"' in dom
    assert dom.count('"service.name": "orders"') == len(MESSAGES)
    assert screenshot.stat().st_size > 10_000
