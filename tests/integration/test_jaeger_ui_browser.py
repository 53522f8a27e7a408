"""The real Jaeger UI, where `make tools` could download it, rendered by headless Chromium: one
trace's page shows its service and operation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_jaeger_config import SERVICE, send_failed_server_span
from tests.support.servers.jaeger import run_jaeger, wait_for_trace
from tests.support.tools.browser import RESULTS, render
from tooling.launcher.parts_logs import JAEGER_UI_ASSETS, jaeger_ui_env

pytestmark = pytest.mark.integration

OPERATION = "PlaceSellOrder"


def test_the_jaeger_ui_shows_a_trace_in_a_real_browser(tmp_path: Path) -> None:
    if not (JAEGER_UI_ASSETS / "index.html").is_file():
        pytest.skip(
            f"no real Jaeger UI to render: the jaeger-ui v1.76.0 release assets are not installed "
            f"({JAEGER_UI_ASSETS}/index.html is missing; `make tools` could not download them "
            "from github.com here, and Jaeger serves only its placeholder page)"
        )
    with run_jaeger(tmp_path, jaeger_ui_env({})) as jaeger:
        trace_id = send_failed_server_span(jaeger.otlp_endpoint, OPERATION)
        wait_for_trace(jaeger.query_url, trace_id, timeout=10)

        dom, _ = render(f"{jaeger.query_url}/trace/{trace_id}", RESULTS / "jaeger-trace.png")

    assert SERVICE in dom
    assert OPERATION in dom
    assert trace_id[:7] in dom  # the UI heads the page with the trace id's first digits
