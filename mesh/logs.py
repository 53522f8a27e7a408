"""The one log schema of the mesh: every service writes each record as one JSON line on stderr.

A line is an object with, in this order:

    time      UTC, ISO 8601 with milliseconds: "2026-11-25T10:09:45.521+00:00"
    level     DEBUG, INFO, WARNING, ERROR or CRITICAL
    service   the service's name: gateway, orders, accounts, fees or market
    logger    the Python logger that wrote it, e.g. "services.orders.handlers"
    message   the message, formatted
    trace_id  32 lowercase hex digits, and span_id 16, of the span current when it was
    span_id   written; both or neither (nothing was being traced)

then the record's named extra fields (`log.info("...", extra={"order_id": ...})`), and
`exception` (the formatted traceback) when one is logged. tracing/log_shipping.py sends the same
records to the log store.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from opentelemetry import trace

from tracing.log_fields import extra_fields

FIELDS = ("time", "level", "service", "logger", "message", "trace_id", "span_id")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra=` fields are kept as keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        line.update(extra_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(service: str, level: str) -> None:
    """Send every log record of the process to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
