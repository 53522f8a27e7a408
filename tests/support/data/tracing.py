"""Spans recorded in memory: the process's one tracer provider, with an exporter tests can read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def record_spans() -> InMemorySpanExporter:
    """Export every span of this process to memory as soon as it ends.

    OpenTelemetry lets a process set its global provider once: reuse an SDK provider someone
    set already, else set one.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def wait_for_spans(
    exporter: InMemorySpanExporter,
    wanted: Callable[[Sequence[ReadableSpan]], bool],
    within: float = 5.0,
) -> tuple[ReadableSpan, ...]:
    """Poll until the finished spans satisfy `wanted` (a server span may end after the reply)."""
    deadline = time.monotonic() + within
    while True:
        spans = exporter.get_finished_spans()
        if wanted(spans):
            return tuple(spans)
        if time.monotonic() >= deadline:
            names = [f"{s.name} ({s.kind.name})" for s in spans]
            raise AssertionError(f"expected spans not finished within {within}s; got {names}")
        await asyncio.sleep(0.01)
