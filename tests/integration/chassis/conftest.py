"""Fixtures shared by the chassis tests."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.data.tracing import record_spans


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return record_spans()


@pytest.fixture
def spans(span_exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    """Tracing on, as in every service, with only this test's spans recorded."""
    span_exporter.clear()
    return span_exporter
