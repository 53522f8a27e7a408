"""A trace in the terminal: fetch one trace from Jaeger's query API and print its spans as a tree,
each with the log lines it wrote (from the log store, when it answers).

    python tooling/cli/trace.py <trace-id> [--jaeger http://127.0.0.1:16686]
                              [--wait 10 --services 5]

Standard library only, so it runs from any Python. Parsing and drawing are pure functions
(payload -> spans -> tree -> lines); fetching and waiting are kept apart at the bottom.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `scripts` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.cli.log_store import LogLine, StoreError, build_query, fetch, format_line, store_url

DESCRIPTION = "Print one trace from Jaeger as a tree of spans."
DEFAULT_JAEGER = "http://127.0.0.1:16686"
ERROR_MARK = "✗ ERROR"
POLL_SECONDS = 0.25
SETTLE_SECONDS = 1.0  # with --wait: no new span for this long means the trace is complete


@dataclass(frozen=True)
class Span:
    span_id: str
    parent_id: str | None
    service: str
    operation: str
    kind: str
    start_us: int
    duration_us: int
    error: bool


@dataclass
class Node:
    span: Span
    children: list[Node] = field(default_factory=list)


# --- pure: Jaeger JSON -> spans -> tree -> lines ---------------------------------------------


def parse_spans(trace: Mapping[str, Any]) -> list[Span]:
    """The spans of one trace, as found in data[0] of Jaeger's /api/traces/<id> answer."""
    processes: Mapping[str, Any] = trace.get("processes") or {}
    spans = []
    for raw in trace.get("spans") or []:
        tags = {tag["key"]: tag["value"] for tag in raw.get("tags") or []}
        failed = tags.get("error") in (True, "true") or tags.get("otel.status_code") == "ERROR"
        process = processes.get(raw.get("processID", ""), {})
        spans.append(
            Span(
                span_id=raw["spanID"],
                parent_id=_parent_id(raw),
                service=process.get("serviceName", "?"),
                operation=raw.get("operationName", "?"),
                kind=str(tags.get("span.kind", "internal")),
                start_us=int(raw.get("startTime", 0)),
                duration_us=int(raw.get("duration", 0)),
                error=failed,
            )
        )
    return spans


def build_tree(spans: Sequence[Span]) -> list[Node]:
    """Link spans to their parents; spans whose parent is not in the trace become roots.

    Roots and children are sorted by start time.
    """
    nodes = {span.span_id: Node(span) for span in spans}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.span.parent_id or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    for node in nodes.values():
        node.children.sort(key=_start)
    return sorted(roots, key=_start)


def render_tree(
    roots: Sequence[Node], logs: Mapping[str, Sequence[LogLine]] | None = None
) -> list[str]:
    """One line per span: tree and service/operation, then kind, duration and start offset;
    under it, the log lines written in that span (`logs` by span id), marked with a dot."""
    if not roots:
        return []
    trace_start = min(root.span.start_us for root in roots)
    rows: list[tuple[str, str, Span]] = []
    for index, root in enumerate(roots):
        _walk(root, "", index == len(roots) - 1, True, rows)
    width = max(len(label) for label, _, _ in rows)
    kind_width = max(len(span.kind) for _, _, span in rows)
    printed = []
    for label, below, span in rows:
        printed.append(_format_row(label, span, trace_start, width, kind_width))
        for line in (logs or {}).get(span.span_id, ()):
            printed.append(f"{below}   · {format_line(line, ids=False)}")
    return printed


def logs_by_span(lines: Sequence[LogLine]) -> dict[str, list[LogLine]]:
    """A trace's log lines grouped by the span that wrote them, each group in time order."""
    grouped: dict[str, list[LogLine]] = {}
    for line in sorted(lines, key=lambda line: line.time):
        grouped.setdefault(line.span_id, []).append(line)
    return grouped


def summarize(trace_id: str, spans: Sequence[Span]) -> str:
    """The header line: how many spans and services, and how long the whole trace took."""
    if not spans:
        return f"trace {trace_id}: no spans"
    services = sorted({span.service for span in spans})
    start = min(span.start_us for span in spans)
    end = max(span.start_us + span.duration_us for span in spans)
    failed = sum(span.error for span in spans)
    failed_note = f", {failed} failed" if failed else ""
    return (
        f"trace {trace_id}: {_count(len(spans), 'span')} from "
        f"{_count(len(services), 'service')} ({', '.join(services)}) in {_ms(end - start)}"
        f"{failed_note}"
    )


def service_count(spans: Sequence[Span]) -> int:
    return len({span.service for span in spans})


def _parent_id(raw: Mapping[str, Any]) -> str | None:
    """CHILD_OF wins over FOLLOWS_FROM (a span link); a span without references is a root."""
    references = raw.get("references") or []
    for ref_type in ("CHILD_OF", "FOLLOWS_FROM"):
        for reference in references:
            if reference.get("refType") == ref_type:
                return str(reference["spanID"])
    return None


def _start(node: Node) -> tuple[int, str]:
    return (node.span.start_us, node.span.span_id)


def _walk(
    node: Node, prefix: str, last: bool, root: bool, rows: list[tuple[str, str, Span]]
) -> None:
    branch = "" if root else ("└─ " if last else "├─ ")
    child_prefix = prefix if root else prefix + ("   " if last else "│  ")
    below = child_prefix + ("│" if node.children else " ")
    rows.append((f"{prefix}{branch}{node.span.service}  {node.span.operation}", below, node.span))
    for index, child in enumerate(node.children):
        _walk(child, child_prefix, index == len(node.children) - 1, False, rows)


def _format_row(label: str, span: Span, trace_start: int, width: int, kind_width: int) -> str:
    line = (
        f"{label.ljust(width)}  {span.kind.ljust(kind_width)}  {_ms(span.duration_us):>10}"
        f"  at +{_ms(span.start_us - trace_start)}"
    )
    return f"{line}  {ERROR_MARK}" if span.error else line


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f} ms"


# --- I/O: fetching from Jaeger ---------------------------------------------------------------


def fetch_trace(jaeger_url: str, trace_id: str) -> Mapping[str, Any] | None:
    """data[0] of /api/traces/<id>, or None while Jaeger has no span of that trace."""
    url = f"{jaeger_url.rstrip('/')}/api/traces/{trace_id}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            payload = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    traces = payload.get("data") or []
    return traces[0] if traces else None


def wait_for_spans(jaeger_url: str, trace_id: str, wait: float, services: int) -> list[Span]:
    """Poll until the trace has spans from `services` services and no new span came for a
    moment, or until `wait` seconds pass; with no wait, fetch once.

    Spans reach Jaeger late (exporters batch, consumers run after the reply), hence the wait.
    Jaeger being unreachable counts as "not there yet" until the time is up.
    """
    deadline = time.monotonic() + wait
    seen, unchanged_since = -1, time.monotonic()
    while True:
        try:
            trace = fetch_trace(jaeger_url, trace_id)
        except urllib.error.URLError:
            if time.monotonic() >= deadline:
                raise
            trace = None
        spans = parse_spans(trace) if trace is not None else []
        now = time.monotonic()
        if len(spans) != seen:
            seen, unchanged_since = len(spans), now
        settled = now - unchanged_since >= SETTLE_SECONDS
        if (service_count(spans) >= services and settled) or now >= deadline:
            return spans
        time.sleep(POLL_SECONDS)


def fetch_logs(store: str, trace_id: str) -> tuple[list[LogLine], str]:
    """The trace's log lines, or none and one line saying why they are unavailable."""
    try:
        return fetch(store, build_query(trace_id=trace_id)), ""
    except StoreError as error:
        return [], f"log lines unavailable: {error}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("trace_id", help="32 hex digits, e.g. from the x-trace-id response trailer")
    query_addr = os.environ.get("JAEGER_QUERY_ADDR")
    default = f"http://{query_addr}" if query_addr else DEFAULT_JAEGER
    parser.add_argument("--jaeger", default=default, help="query API (default: %(default)s)")
    parser.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="poll Jaeger up to this long"
    )
    parser.add_argument(
        "--services", type=int, default=1, metavar="N", help="...until spans of N services arrived"
    )
    parser.add_argument("--logs", default=store_url(), help="log store (default: %(default)s)")
    args = parser.parse_args(argv)
    trace_id = args.trace_id.strip().lower()
    try:
        spans = wait_for_spans(args.jaeger, trace_id, args.wait, args.services)
    except urllib.error.URLError as error:
        reason = f"cannot reach Jaeger at {args.jaeger} ({error.reason})"
        print(f"{reason}: is `make run` running?", file=sys.stderr)
        return 2
    if not spans:
        print(f"trace {trace_id} not found in Jaeger at {args.jaeger}", file=sys.stderr)
        return 1
    lines, unavailable = fetch_logs(args.logs, trace_id)
    known = {span.span_id for span in spans}
    strays = [line for line in lines if line.span_id not in known]
    print(summarize(trace_id, spans))
    print("\n".join(render_tree(build_tree(spans), logs_by_span(lines))))
    for line in strays:
        print(f"· (span {line.span_id or '-'} not in the trace) {format_line(line, ids=False)}")
    if unavailable:
        print(unavailable)
    found = service_count(spans)
    if found < args.services:
        print(f"spans from only {found} of {args.services} services", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
