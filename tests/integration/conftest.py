"""Fixtures for every integration test: the backend a service's database runs on, and the spans
recorded in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.data.tracing import record_spans
from tests.support.servers.postgres import BACKENDS, database_location, run_postgres
from tooling.launcher.postgres import LocalPostgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """One PostgreSQL server for the session, started by the first test that needs it."""
    with run_postgres() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs twice, on SQLite and on PostgreSQL, same assertions."""
    return str(request.param)


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """The service database of a test on `backend`: a new file, or a new PostgreSQL database."""
    server = request.getfixturevalue("postgres") if backend == "postgres" else None
    return database_location(backend, tmp_path, server)


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return record_spans()


@pytest.fixture
def spans(span_exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    """Tracing on, as in every service, with only this test's spans recorded."""
    span_exporter.clear()
    return span_exporter
