"""One trace read back from Jaeger's query API, and the span shapes the tests look for in it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tests.support.polling import poll
from tests.support.servers.jaeger import fetch_trace
from tooling.cli.trace import Span, parse_spans

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Like:
    """Spans of one service and kind whose operation name ends with `operation`."""

    service: str
    kind: str  # server, client, producer, consumer or internal (Jaeger's span.kind tag)
    operation: str = ""

    def __call__(self, span: Span) -> bool:
        return (
            span.service == self.service
            and span.kind == self.kind
            and span.operation.endswith(self.operation)
        )

    def __str__(self) -> str:
        return f"{self.service} {self.kind.upper()} {self.operation or '(any)'}".rstrip()


Edge = tuple[Like, Like]  # parent -> child


class Trace:
    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans = list(spans)
        self._by_id = {span.span_id: span for span in self.spans}

    def parent(self, span: Span) -> Span | None:
        return self._by_id.get(span.parent_id or "")

    def roots(self) -> list[Span]:
        """Spans without a parent in the trace: exactly one when the context went everywhere."""
        return [span for span in self.spans if self.parent(span) is None]

    def whole(self) -> bool:
        """No span waits for its parent: the spans Jaeger has so far form one closed tree."""
        return all(span.parent_id is None or self.parent(span) for span in self.spans)

    def services(self) -> set[str]:
        return {span.service for span in self.spans}

    def kinds(self) -> set[str]:
        return {span.kind for span in self.spans}

    def failed(self) -> list[Span]:
        return [span for span in self.spans if span.error]

    def has(self, like: Like) -> bool:
        return any(like(span) for span in self.spans)

    def missing_edges(self, edges: Iterable[Edge]) -> list[str]:
        """The parent -> child edges no span of the trace shows, as text for a failure message."""
        return [f"{parent} -> {child}" for parent, child in edges if not self._shows(parent, child)]

    def _shows(self, parent: Like, child: Like) -> bool:
        for span in self.spans:
            above = self.parent(span)
            if child(span) and above is not None and parent(above):
                return True
        return False

    def __str__(self) -> str:
        return "\n".join(
            f"  {span.service} {span.kind} {span.operation}{' ERROR' if span.error else ''}"
            for span in self.spans
        )


def wait_for_trace(
    query_url: str, trace_id: str, complete: Callable[[Trace], bool], timeout: float = 15.0
) -> Trace:
    """Poll Jaeger until the trace is `complete` (spans arrive late: exporters batch, events
    are consumed after the reply) or `timeout` passes; either way return what Jaeger has, so
    the test's assertions say what is missing."""

    def read() -> Trace:
        found = fetch_trace(query_url, trace_id)
        return Trace(parse_spans(found) if found is not None else [])

    return poll(read, complete, timeout, f"trace {trace_id}", POLL_SECONDS, or_last=True)
