"""mesh/logs.py writes lines that the schema check (tests/support/data/log_lines.py) accepts, and
the check refuses lines that break the schema."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from mesh.logs import JsonFormatter
from tests.support.data.log_lines import line_problem
from tests.support.data.tracing import record_spans

GOOD = (
    '{"time": "2026-11-25T10:09:45.521+00:00", "level": "INFO", "service": "orders", '
    '"logger": "services.orders.handlers", "message": "order placed", '
    '"trace_id": "3f1d0c9a8b7e6d5c4b3a291807f6e5d4", "span_id": "4b3a291807f6e5d4", '
    '"order_id": "o-1"}'
)


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the services' formatter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("orders"))
    logger = logging.getLogger("services.orders.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, buffer
    logger.removeHandler(handler)


def test_a_line_written_in_a_span_with_extras_and_an_exception_follows_the_schema(
    written: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = written
    record_spans()
    with trace.get_tracer(__name__).start_as_current_span("place order"):
        try:
            raise ValueError("no such symbol")
        except ValueError:
            logger.exception("order refused", extra={"order_id": "o-1", "quantity": 10})
    logger.info("outside any span")

    lines = buffer.getvalue().splitlines()

    assert len(lines) == 2
    assert [line_problem(line, "orders") for line in lines] == [None, None]
    assert '"trace_id"' in lines[0]
    assert '"exception"' in lines[0]
    assert '"trace_id"' not in lines[1]


def test_the_documented_example_follows_the_schema() -> None:
    assert line_problem(GOOD, "orders") is None


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ("orders: configuration error: ORDERS_ADDR", "not JSON"),
        (GOOD.replace('"level": "INFO"', '"level": "info"'), "level 'info'"),
        (GOOD.replace("+00:00", "Z"), "is not UTC ISO 8601"),
        (GOOD.replace('"service": "orders"', '"service": "fees"'), "service 'fees'"),
        (GOOD.replace(', "span_id": "4b3a291807f6e5d4"', ""), "come together"),
        (GOOD.replace("3f1d0c9a", "3F1D0C9A"), "trace_id"),
        (GOOD.replace('"order_id"', '"Order-Id"'), "snake_case"),
        ('{"message": "m", "time": "2026-11-25T10:09:45.521+00:00"}', "starts with"),
    ],
)
def test_a_line_that_breaks_the_schema_is_named(broken: str, problem: str) -> None:
    found = line_problem(broken, "orders")

    assert found is not None
    assert problem in found, found
