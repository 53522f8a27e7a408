"""`make logs`: every service's log lines from the log store, followed live or one trace at once.

    python tooling/cli/logs.py [--service orders] [--level WARNING]       follow, after the last 20
    python tooling/cli/logs.py --trace <trace-id> [--wait 10 --services 3]  one trace, in time order

VICTORIALOGS_ADDR says where the store is (default 127.0.0.1:9428, as for make run). Standard
library only (tooling/cli/log_store.py does the asking).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `scripts` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.cli.log_store import (
    LogLine,
    StoreError,
    build_query,
    fetch,
    follow,
    format_line,
    is_trace_id,
    store_url,
    ui_url,
)

HISTORY_LINES = 20
POLL_SECONDS = 0.25
SETTLE_SECONDS = 1.0  # with --wait: no new line for this long means the trace is complete


def trace_lines(store: str, query: str, wait: float, services: int) -> list[LogLine]:
    """The trace's lines; with `wait`, poll until lines of `services` services came and no new
    line for a moment, or until the time is up (records reach the store in batches)."""
    deadline = time.monotonic() + wait
    seen, unchanged_since = -1, time.monotonic()
    while True:
        lines = fetch(store, query)
        now = time.monotonic()
        if len(lines) != seen:
            seen, unchanged_since = len(lines), now
        enough = len({line.service for line in lines}) >= services
        if (enough and now - unchanged_since >= SETTLE_SECONDS) or now >= deadline:
            return lines
        time.sleep(POLL_SECONDS)


def show_trace(store: str, trace_id: str, wait: float, services: int) -> int:
    lines = trace_lines(store, build_query(trace_id=trace_id), wait, services)
    if not lines:
        print(f"no log lines of trace {trace_id} in the log store at {store}", file=sys.stderr)
        return 1
    names = sorted({line.service for line in lines})
    print(f"trace {trace_id}: {len(lines)} log lines from {', '.join(names)}, in time order")
    for line in lines:
        print(format_line(line), flush=True)
    print(f"in the browser: {ui_url(store, build_query(trace_id=trace_id))}")
    return 0


def show_live(store: str, query: str) -> int:
    for line in fetch(store, query, limit=HISTORY_LINES, newest=True):
        print(format_line(line), flush=True)
    print(f"-- following {query} in the log store at {store} (Ctrl-C stops)", flush=True)
    for line in follow(store, query):
        print(format_line(line), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", default=store_url(), help="log store (default: %(default)s)")
    parser.add_argument("--service", default="", help="only this service's lines")
    parser.add_argument("--level", default="", help="only lines at this level or above")
    parser.add_argument("--trace", default="", metavar="ID", help="every line of one trace")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--services", type=int, default=1, metavar="N")
    args = parser.parse_args(argv)
    trace_id = args.trace.strip().lower()
    if args.trace and not is_trace_id(trace_id):
        print(f"make logs: {args.trace!r} is not a trace id (32 hex digits)", file=sys.stderr)
        return 2
    try:
        query = build_query(args.service, args.level, trace_id)
        if trace_id:
            return show_trace(args.store, trace_id, args.wait, args.services)
        return show_live(args.store, query)
    except ValueError as error:
        print(f"make logs: {error}", file=sys.stderr)
        return 2
    except StoreError as error:
        print(f"make logs: {error}: is `make run` running?", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
