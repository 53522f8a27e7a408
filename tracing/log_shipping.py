"""Ships every log record of the process to a log store with OpenTelemetry's logs SDK, over
OTLP/HTTP (protobuf), beside the JSON lines on stderr; off unless OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
is set.

A stored record carries what the JSON line does, under OpenTelemetry's names where it has them:
time, severity_text (the level), body (the message), the resource's service.name, trace_id and
span_id from the current span, and the attributes `logger`, `exception` and the `extra=` fields.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import _logger as exporter_log
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.util.types import AnyValue

from tracing.log_fields import extra_fields
from tracing.log_queue import (
    BoundedLogProcessor,
    DropCounter,
    QuietWhileAway,
    StoreWatchingExporter,
)
from tracing.resource import process_resource

log = logging.getLogger(__name__)

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
# At most this many records wait for the store; a store that is down costs this much memory
# (a few hundred bytes a record), never a blocked or crashed service.
QUEUE_CAPACITY = 2048
EXPORT_TIMEOUT_SECONDS = 2.0
SCHEDULE_DELAY_MILLIS = 1000
# Records of the exporter's own path would feed on themselves while the store is away; they
# still reach stderr.
_NOT_SHIPPED = ("opentelemetry", "urllib3", "requests", "tracing.log_queue")

_SEVERITY = {
    logging.DEBUG: SeverityNumber.DEBUG,
    logging.INFO: SeverityNumber.INFO,
    logging.WARNING: SeverityNumber.WARN,
    logging.ERROR: SeverityNumber.ERROR,
    logging.CRITICAL: SeverityNumber.FATAL,
}


@dataclass(frozen=True)
class LogShipping:
    """A running shipment: its provider (to shut down), handler and drop counter."""

    provider: LoggerProvider
    handler: logging.Handler
    counter: DropCounter
    endpoint: str

    @property
    def dropped(self) -> int:
        return self.counter.dropped


class ShippingHandler(logging.Handler):
    """A logging handler that hands each record to an OpenTelemetry logger."""

    def __init__(self, logger: Logger) -> None:
        super().__init__()
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_NOT_SHIPPED):
            return
        try:
            self._logger.emit(
                timestamp=int(record.created * 1e9),
                observed_timestamp=time.time_ns(),
                severity_number=_SEVERITY.get(record.levelno, SeverityNumber.UNSPECIFIED),
                severity_text=record.levelname,
                body=record.getMessage(),
                attributes=_attributes(record, self),
            )
        except Exception:  # logging's own contract: a failing handler reports and goes on
            self.handleError(record)


def _attributes(record: logging.LogRecord, handler: logging.Handler) -> dict[str, AnyValue]:
    attributes: dict[str, AnyValue] = {"logger": record.name}
    for key, value in extra_fields(record).items():
        attributes[key] = value if isinstance(value, str | int | float | bool) else str(value)
    if record.exc_info:
        attributes["exception"] = (handler.formatter or logging.Formatter()).formatException(
            record.exc_info
        )
    return attributes


def configure_log_shipping(service_name: str) -> LogShipping | None:
    """Ship the root logger's records to OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (the full URL, e.g.
    http://127.0.0.1:9428/insert/opentelemetry/v1/logs); None when it is not set."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE, "").strip()
    if not endpoint:
        return None
    provider = LoggerProvider(resource=process_resource(service_name), shutdown_on_exit=False)
    counter = DropCounter(QUEUE_CAPACITY)
    exporter = StoreWatchingExporter(
        OTLPLogExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT_SECONDS), counter, endpoint
    )
    exporter_log.addFilter(QuietWhileAway(exporter))
    provider.add_log_record_processor(
        BoundedLogProcessor(exporter, counter, schedule_delay_millis=SCHEDULE_DELAY_MILLIS)
    )
    handler = ShippingHandler(provider.get_logger("simplebank"))
    logging.getLogger().addHandler(handler)
    return LogShipping(provider, handler, counter, endpoint)


def shutdown_log_shipping(shipping: LogShipping | None) -> None:
    """Send what the store takes at once, drop the rest (counted), stop; never raises."""
    if shipping is None:
        return
    logging.getLogger().removeHandler(shipping.handler)
    try:
        shipping.provider.shutdown()
    except Exception:  # stopping must go on whatever the exporter does
        log.exception("log shipping shutdown failed")
    if shipping.dropped:
        log.warning(
            "%d log records never reached the log store at %s", shipping.dropped, shipping.endpoint
        )
