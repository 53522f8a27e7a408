"""make trace shows each span's log lines right under it, matched by span id, in time order."""

from __future__ import annotations

import json
from pathlib import Path

from tooling.cli.log_store import LogLine
from tooling.cli.trace import build_tree, logs_by_span, parse_spans, render_tree

FIXTURE = Path(__file__).parent / "fixtures" / "jaeger_trace.json"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def line(span_id: str, time: str, message: str, service: str = "orders") -> LogLine:
    return LogLine(
        time=f"2026-11-29T07:09:{time}Z",
        level="INFO",
        service=service,
        logger=f"services.{service}.handlers",
        message=message,
        trace_id=TRACE_ID,
        span_id=span_id,
    )


def rendered(lines: list[LogLine]) -> list[str]:
    spans = parse_spans(json.loads(FIXTURE.read_text())["data"][0])
    return render_tree(build_tree(spans), logs_by_span(lines))


def test_each_log_line_is_printed_under_the_span_that_wrote_it_in_time_order() -> None:
    printed = rendered(
        [
            line("c3c3c3c3c3c3c3c3", "33.900000000", "order stored"),
            line("c3c3c3c3c3c3c3c3", "33.800000000", "holdings reserved"),
            line("0707070707070707", "34.000000000", "order booked", "market"),
        ]
    )

    place_order = next(i for i, row in enumerate(printed) if "orders  /simplebank.orders" in row)
    assert "· " in printed[place_order + 1]
    assert "holdings reserved" in printed[place_order + 1]
    assert "order stored" in printed[place_order + 2]
    booked = next(i for i, row in enumerate(printed) if "order booked" in row)
    assert "market  simplebank.events.OrderCreated process" in printed[booked - 1]
    assert all(TRACE_ID not in row for row in printed)


def test_without_log_lines_the_tree_is_as_before() -> None:
    spans = parse_spans(json.loads(FIXTURE.read_text())["data"][0])

    assert rendered([]) == render_tree(build_tree(spans))
    assert len(rendered([])) == len(spans)
