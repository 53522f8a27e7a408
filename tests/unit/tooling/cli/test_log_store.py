"""tooling/cli/log_store.py: LogsQL for make logs' filters, and stored records read back as
the mesh's log schema, printed one per line."""

from __future__ import annotations

import pytest

from tooling.cli.log_store import LogLine, build_query, format_line, in_time_order, parse_record

TRACE = "3f1d0c9a8b7e6d5c4b3a291807f6e5d4"
STORED = {
    "_msg": "order placed",
    "_stream": '{service.name="orders"}',
    "_stream_id": "0000",
    "_time": "2026-11-29T07:09:33.858119936Z",
    "logger": "services.orders.handlers",
    "order_id": "o-1",
    "scope.name": "simplebank",
    "service.instance.id": "7d99",
    "service.name": "orders",
    "severity_number": "9",
    "severity_text": "INFO",
    "span_id": "4b3a291807f6e5d4",
    "telemetry.sdk.language": "python",
    "trace_id": TRACE,
}


def test_no_filter_is_every_line() -> None:
    assert build_query() == "*"


def test_filters_combine_service_level_and_above_and_trace() -> None:
    query = build_query("orders", "warning", TRACE)

    assert query == f'"service.name":="orders" severity_number:>=13 trace_id:={TRACE}'


@pytest.mark.parametrize(
    ("service", "level", "trace_id", "said"),
    [
        ("", "loud", "", "unknown level 'loud'"),
        ("", "", "nonsense", "'nonsense' is not a trace id"),
        ("", "", TRACE.upper(), "is not a trace id"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(
    service: str, level: str, trace_id: str, said: str
) -> None:
    with pytest.raises(ValueError, match=said):
        build_query(service, level, trace_id)


def test_a_stored_record_reads_back_as_the_schema_without_the_stores_fields() -> None:
    assert parse_record(STORED) == LogLine(
        time="2026-11-29T07:09:33.858119936Z",
        level="INFO",
        service="orders",
        logger="services.orders.handlers",
        message="order placed",
        trace_id=TRACE,
        span_id="4b3a291807f6e5d4",
        extra={"order_id": "o-1"},
    )


def test_a_line_prints_time_level_service_logger_message_fields_and_ids() -> None:
    printed = format_line(parse_record(STORED))

    assert printed == (
        "07:09:33.858Z INFO     orders    services.orders.handlers: order placed  order_id=o-1"
        f"  trace_id={TRACE} span_id=4b3a291807f6e5d4"
    )


def test_a_logged_exception_follows_its_line_indented() -> None:
    line = parse_record({**STORED, "exception": "Traceback\nValueError: no"})

    assert format_line(line, ids=False).splitlines()[1:] == ["    Traceback", "    ValueError: no"]


def test_lines_sort_by_time_to_the_nanosecond() -> None:
    later = parse_record({**STORED, "_time": "2026-11-29T07:09:33.858119937Z", "_msg": "b"})
    earlier = parse_record(STORED)

    assert [line.message for line in in_time_order([later, earlier])] == ["order placed", "b"]
