"""The bounded queue in front of the log store: records beyond its room and records of a batch the
store refused are dropped and counted; the store going away and coming back is said once each."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from tracing.log_queue import DropCounter, QuietWhileAway, StoreWatchingExporter

STORE = "http://127.0.0.1:9428/insert/opentelemetry/v1/logs"


class FakeExporter(LogRecordExporter):
    """Answers as told: the store up (SUCCESS) or away (FAILURE)."""

    def __init__(self) -> None:
        self.up = True
        self.batches: list[int] = []

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.batches.append(len(batch))
        return LogRecordExportResult.SUCCESS if self.up else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def batch(size: int) -> list[ReadableLogRecord]:
    return [ReadableLogRecord.__new__(ReadableLogRecord) for _ in range(size)]


def admitted(counter: DropCounter, count: int) -> int:
    return sum(counter.admit() for _ in range(count))


def test_records_beyond_the_capacity_are_turned_away_and_counted() -> None:
    counter = DropCounter(capacity=3)

    assert admitted(counter, 5) == 3
    assert (counter.pending, counter.dropped) == (3, 2)


def test_an_exported_batch_makes_room_and_a_refused_one_is_counted() -> None:
    counter = DropCounter(capacity=4)
    admitted(counter, 4)

    counter.settle(2, delivered=True)
    counter.settle(2, delivered=False)

    assert (counter.pending, counter.dropped) == (0, 2)
    assert admitted(counter, 4) == 4


def test_the_store_going_away_and_coming_back_is_said_once_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner, counter = FakeExporter(), DropCounter(capacity=100)
    exporter = StoreWatchingExporter(inner, counter, STORE)
    admitted(counter, 40)
    caplog.set_level(logging.WARNING, logger="tracing.log_queue")

    inner.up = False
    for _ in range(3):
        exporter.export(batch(10))
    inner.up = True
    exporter.export(batch(10))

    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2, said
    assert said[0].startswith(f"log store at {STORE} did not take 10 log records")
    assert said[1] == f"log store at {STORE} is back; 30 log records dropped so far"
    assert (counter.pending, counter.dropped) == (0, 30)


def test_the_exporters_own_errors_are_held_back_while_the_store_is_away() -> None:
    inner = FakeExporter()
    exporter = StoreWatchingExporter(inner, DropCounter(capacity=10), STORE)
    quiet = QuietWhileAway(exporter)
    error = logging.LogRecord("otlp", logging.ERROR, "", 0, "Failed to export", None, None)

    assert quiet.filter(error)
    inner.up = False
    exporter.export(batch(1))
    assert not quiet.filter(error)


def test_while_closing_a_store_that_is_away_is_not_tried_again() -> None:
    inner, counter = FakeExporter(), DropCounter(capacity=10)
    exporter = StoreWatchingExporter(inner, counter, STORE)
    admitted(counter, 6)
    inner.up = False
    exporter.export(batch(3))

    exporter.closing = True
    exporter.export(batch(3))

    assert inner.batches == [3]
    assert counter.dropped == 6
