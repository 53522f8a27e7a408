"""A bounded queue of log records on their way to the log store: what does not fit, or does not
reach the store, is dropped and counted, and the store going away is said once, not per batch.

The SDK's BatchLogRecordProcessor is bounded too, but counts its drops only as metrics of its
own (when OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED and a meter provider are set), and not the
records of a batch the store refused. Here the bound sits in front of it, so every record is
either exported or counted in `dropped`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)

log = logging.getLogger(__name__)


class DropCounter:
    """How many records are waiting or in flight, and how many were dropped; thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.pending = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Take one record in if there is room, else count it as dropped."""
        with self._lock:
            if self.pending >= self.capacity:
                self.dropped += 1
                return False
            self.pending += 1
            return True

    def settle(self, count: int, delivered: bool) -> int:
        """`count` records left the queue; the total dropped so far."""
        with self._lock:
            self.pending -= count
            if not delivered:
                self.dropped += count
            return self.dropped


class StoreWatchingExporter(LogRecordExporter):
    """Wraps the OTLP exporter: settles the counter after each batch, says once when the store
    stops taking batches (the exporter's own first error says why) and once when it is back.

    While the store is away the exporter's per-batch errors are held back, and during shutdown
    batches are dropped without trying, so a service never waits on a store that is gone.
    """

    def __init__(self, exporter: LogRecordExporter, counter: DropCounter, store: str) -> None:
        self._exporter = exporter
        self._counter = counter
        self._store = store
        self.away = False
        self.closing = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self.closing and self.away:
            self._counter.settle(len(batch), delivered=False)
            return LogRecordExportResult.FAILURE
        result = self._exporter.export(batch)
        delivered = result is LogRecordExportResult.SUCCESS
        dropped = self._counter.settle(len(batch), delivered)
        if delivered and self.away:
            self.away = False
            log.warning(
                "log store at %s is back; %d log records dropped so far", self._store, dropped
            )
        elif not delivered and not self.away:
            self.away = True
            log.warning(
                "log store at %s did not take %d log records: dropping and counting them "
                "until it answers (stderr keeps every line)",
                self._store,
                len(batch),
            )
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._exporter.shutdown()  # type: ignore[no-untyped-call]


class QuietWhileAway(logging.Filter):
    """Put on the OTLP exporter's logger: its errors pass only while the store is thought up."""

    def __init__(self, exporter: StoreWatchingExporter) -> None:
        super().__init__()
        self._exporter = exporter

    def filter(self, record: logging.LogRecord) -> bool:
        return not self._exporter.away


class BoundedLogProcessor(LogRecordProcessor):
    """The SDK's batch processor behind a DropCounter: on_emit never blocks, never grows past
    the capacity, and every record it turns away is counted."""

    def __init__(
        self, exporter: StoreWatchingExporter, counter: DropCounter, schedule_delay_millis: int
    ) -> None:
        self._exporter = exporter
        self._counter = counter
        self._batch = BatchLogRecordProcessor(
            exporter,
            schedule_delay_millis=schedule_delay_millis,
            max_queue_size=counter.capacity,
            max_export_batch_size=min(512, counter.capacity),
        )

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        if self._exporter.closing:  # the batch processor would ignore it, uncounted
            return
        if self._counter.admit():
            self._batch.on_emit(log_record)

    def shutdown(self) -> None:
        self._exporter.closing = True
        self._batch.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batch.force_flush(timeout_millis)
