"""The real Jaeger UI of `make run`, rendered by headless Chromium: one order's trace page shows
all five services and its span count, the search page finds the trace by service, and the System
Architecture page gets the call graph's five services from /api/dependencies.

The UI is the jaeger-ui build `make tools` installs (from JAEGER_UI_ARCHIVE, or the official
download). Where neither could be had the test fails saying so: there is nothing to render.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.e2e.launcher import LaunchedMesh
from tests.e2e.test_trace import FIVE_SERVICES, SELL_ORDER_EDGES, sell_with_grpcurl
from tests.e2e.traces import Trace, wait_for_trace
from tests.support import REPO_ROOT
from tests.support.tools.browser import RESULTS, render
from tooling.launcher.parts_logs import JAEGER_UI_ASSETS

pytestmark = pytest.mark.e2e

# Where the README and the docs show them: renewed by a run with SIMPLEBANK_UPDATE_SCREENSHOTS=1
# (a plain `make test` leaves the checkout as it was; its screenshots stay in results/browser/).
DOCS = REPO_ROOT / "docs"
STABLE_READS = 10


def publish(screenshot: Path) -> None:
    if os.environ.get("SIMPLEBANK_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(screenshot, DOCS / screenshot.name)


def visible_text(dom: str) -> str:
    """The words a person sees: the DOM without its scripts, styles and tags."""
    text = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", " ", dom, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


class OrderTrace(NamedTuple):
    trace_id: str
    trace: Trace


@pytest.fixture(scope="module")
def order_trace(mesh: LaunchedMesh) -> OrderTrace:
    """One sell order as docs/grpcurl.md places it, its trace whole in Jaeger."""
    if not (JAEGER_UI_ASSETS / "index.html").is_file():
        pytest.fail(
            f"no real Jaeger UI to render: {JAEGER_UI_ASSETS}/index.html is missing. Run "
            "`make tools JAEGER_UI_ARCHIVE=<jaeger-ui assets.tar.gz>` (on these machines "
            "shared/jaeger-ui/ holds one), or `make tools` where the official download works",
            pytrace=False,
        )
    trace_id = sell_with_grpcurl(mesh, "alice", "AAPL", 1)
    trace = wait_for_trace(
        mesh.jaeger_url, trace_id, lambda t: t.whole() and not t.missing_edges(SELL_ORDER_EDGES)
    )
    assert trace.services() == FIVE_SERVICES, trace
    assert not trace.failed(), trace  # a filled order: what the docs' screenshots show
    # A whole trace can still gain spans for a moment (each service exports its batch twice a
    # second): the pages are compared with it once its span count has held for a second.
    for _ in range(STABLE_READS):
        time.sleep(1.0)
        again = wait_for_trace(mesh.jaeger_url, trace_id, lambda t: True, timeout=0)
        if len(again.spans) == len(trace.spans):
            break
        trace = again
    return OrderTrace(trace_id, trace)


def test_the_trace_page_shows_all_five_services_and_every_span(
    mesh: LaunchedMesh, order_trace: OrderTrace
) -> None:
    trace_id, trace = order_trace
    dom, screenshot = render(f"{mesh.jaeger_url}/trace/{trace_id}", RESULTS / "jaeger-trace.png")
    publish(screenshot)
    text = visible_text(dom)

    assert "Services 5" in text, text[:2000]
    assert f"Total Spans {len(trace.spans)}" in text, text[:2000]
    assert "GatewayService/ PlaceSellOrder" in text, text[:2000]
    for service in FIVE_SERVICES:
        assert f" {service} " in text, f"{service} not on the trace page"


def test_the_search_page_finds_the_trace_by_service(
    mesh: LaunchedMesh, order_trace: OrderTrace
) -> None:
    trace_id, trace = order_trace
    url = f"{mesh.jaeger_url}/search?service=gateway&lookback=1h&limit=20"
    dom, screenshot = render(url, RESULTS / "jaeger-search.png")
    publish(screenshot)
    text = visible_text(dom)

    assert trace_id[:7] in text, text[:2000]  # each result is headed by its id's first digits
    assert f"{len(trace.spans)} Spans" in text, text[:2000]
    for service in FIVE_SERVICES:
        assert re.search(rf"\b{service} \(\d+\)", text), f"{service} not in the results"


def test_the_system_architecture_page_gets_the_call_graph(
    mesh: LaunchedMesh, order_trace: OrderTrace
) -> None:
    assert order_trace.trace.services() == FIVE_SERVICES  # its edges are in /api/dependencies
    dom, _ = render(f"{mesh.jaeger_url}/dependencies", RESULTS / "jaeger-dependencies.png")
    text = visible_text(dom)

    # The graph's nodes, one per service in /api/dependencies' edges.
    nodes = text.partition("Search")[2]
    assert {word for word in nodes.split() if word in FIVE_SERVICES} == FIVE_SERVICES, text[:2000]
