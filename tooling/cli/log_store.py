"""Reading the mesh's logs back from the log store (VictoriaLogs) with LogsQL: build a query,
fetch or follow its lines, and turn each stored record back into the mesh's log schema.

Standard library only, like tooling/cli/trace.py, which shows a trace's lines under its spans.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_STORE = "http://127.0.0.1:9428"
TRACE_ID = re.compile(r"[0-9a-f]{32}")
# OpenTelemetry's severity numbers of the levels a service writes (mesh/logs.py LEVELS).
SEVERITY = {"DEBUG": 5, "INFO": 9, "WARNING": 13, "ERROR": 17, "CRITICAL": 21}
# What the store adds to a record beyond the schema: its own fields and the rest of the
# OpenTelemetry resource and scope.
_STORE_FIELDS = ("_", "scope.", "telemetry.", "service.", "severity_number")
TIMEOUT_SECONDS = 5.0


class StoreError(Exception):
    """The log store did not answer, or refused the query; the message says which, in one line."""


@dataclass(frozen=True)
class LogLine:
    """One record as the mesh's log schema names it (mesh/logs.py)."""

    time: str  # RFC 3339 UTC, nanoseconds: sorts as text
    level: str
    service: str
    logger: str
    message: str
    trace_id: str = ""
    span_id: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


def store_url(environ: Mapping[str, str] = os.environ) -> str:
    addr = environ.get("VICTORIALOGS_ADDR")
    return f"http://{addr}" if addr else DEFAULT_STORE


def is_trace_id(text: str) -> bool:
    return TRACE_ID.fullmatch(text) is not None


def build_query(service: str = "", level: str = "", trace_id: str = "") -> str:
    """LogsQL for the lines of `service` at `level` or above, of one trace; all lines if none.

    Raises ValueError for a level the services do not write or a trace id that is not one.
    """
    filters = []
    if service:
        filters.append(f'"service.name":={json.dumps(service)}')
    if level:
        if level.upper() not in SEVERITY:
            raise ValueError(f"unknown level {level!r}: one of {', '.join(SEVERITY)}")
        filters.append(f"severity_number:>={SEVERITY[level.upper()]}")
    if trace_id:
        if not is_trace_id(trace_id):
            raise ValueError(f"{trace_id!r} is not a trace id (32 hex digits, lowercase)")
        filters.append(f"trace_id:={trace_id}")
    return " ".join(filters) or "*"


def parse_record(record: Mapping[str, Any]) -> LogLine:
    """A record as the store returns it (one JSON object) -> the schema's names."""
    known = {"_time", "_msg", "severity_text", "service.name", "logger", "trace_id", "span_id"}
    extra = {
        key: str(value)
        for key, value in record.items()
        if key not in known and not key.startswith(_STORE_FIELDS)
    }
    return LogLine(
        time=str(record.get("_time", "")),
        level=str(record.get("severity_text", "")),
        service=str(record.get("service.name", "")),
        logger=str(record.get("logger", "")),
        message=str(record.get("_msg", "")),
        trace_id=str(record.get("trace_id", "")),
        span_id=str(record.get("span_id", "")),
        extra=dict(sorted(extra.items())),
    )


def format_line(line: LogLine, ids: bool = True) -> str:
    """`07:09:33.858Z INFO     orders    logger: message  key=value ... trace_id=.. span_id=..`,
    then a logged exception's traceback, indented."""
    clock = line.time[11:23] + "Z" if len(line.time) >= 23 else line.time
    parts = [f"{clock} {line.level:<8} {line.service:<9} {line.logger}: {line.message}"]
    parts += [f"{key}={value}" for key, value in line.extra.items() if key != "exception"]
    if ids and line.trace_id:
        parts.append(f"trace_id={line.trace_id} span_id={line.span_id}")
    traceback = line.extra.get("exception", "")
    return "  ".join(parts) + "".join(f"\n    {row}" for row in traceback.splitlines())


def ui_url(store: str, query: str) -> str:
    """The store's web UI (vmui) showing the schema's fields of `query`'s lines, as JSON (its table
    view leaves columns out). It opens on the last 5 minutes; widen the range for older lines."""
    shown = f"{query} | fields _time, service.name, severity_text, _msg, trace_id, span_id"
    params = urllib.parse.urlencode({"query": shown, "view": "json"}, quote_via=urllib.parse.quote)
    return f"{store.rstrip('/')}/select/vmui/#/?{params}"


def in_time_order(lines: Sequence[LogLine]) -> list[LogLine]:
    return sorted(lines, key=lambda line: line.time)


# --- I/O: asking the store ----------------------------------------------------------------


def fetch(store: str, query: str, limit: int = 0, newest: bool = False) -> list[LogLine]:
    """The lines matching `query`, oldest first; with `limit`, that many (the newest ones if
    `newest`, else the oldest)."""
    pipe = " | sort by (_time desc)" if newest else " | sort by (_time)"
    if limit:
        pipe += f" | limit {limit}"
    with _post(store, "/select/logsql/query", query + pipe) as response:
        lines = [parse_record(json.loads(raw)) for raw in response if raw.strip()]
    return in_time_order(lines)


def follow(store: str, query: str, start_offset: str = "") -> Iterator[LogLine]:
    """New lines as they arrive (live tailing), from `start_offset` ago (e.g. "30s") if given."""
    extra = {"start_offset": start_offset} if start_offset else {}
    with _post(store, "/select/logsql/tail", query, timeout=None, **extra) as response:
        for raw in response:
            if raw.strip():
                yield parse_record(json.loads(raw))


def _post(
    store: str, path: str, query: str, timeout: float | None = TIMEOUT_SECONDS, **params: str
) -> Any:
    body = urllib.parse.urlencode({"query": query, **params}).encode()
    url = f"{store.rstrip('/')}{path}"
    try:
        return urllib.request.urlopen(url, data=body, timeout=timeout)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace").strip().splitlines()[:1]
        raise StoreError(f"log store at {store} refused the query: {' '.join(detail)}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StoreError(f"log store at {store} is not answering ({reason})") from error
