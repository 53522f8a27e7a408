"""Transactions run again after a serialization failure or deadlock, read from every service
process's Prometheus page before and after a configuration's load.

mesh/storage/postgres.py counts them in `simplebank.database.retries` (config/prometheus/
METRICS.md), which Prometheus names as below. A process that does not export it (SQLite, metrics
off, a counter never added to) is left out; if none does, the count is unknown (None), not 0.

PostgreSQL's own log says the same from the other side: each transaction it aborted for a
serialization failure or a deadlock is one ERROR line there, whoever then retried it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

SERIES = "simplebank_database_retries_total"
TIMEOUT_SECONDS = 5.0
# The ERROR lines of SQLSTATE 40001 (serialization_failure) and 40P01 (deadlock_detected).
ABORTS = ("ERROR:  could not serialize access", "ERROR:  deadlock detected")


def total(metrics_addrs: Iterable[str]) -> float | None:
    """The retries every process at `metrics_addrs` has counted so far; None if none counts."""
    found = [count for addr in metrics_addrs if (count := _of(addr)) is not None]
    return sum(found) if found else None


def since(before: float | None, after: float | None) -> float | None:
    """Retries between two readings (a counter that first appeared meanwhile started at 0)."""
    if after is None:
        return None
    return after - (before or 0.0)


def per_hundred(retries: float | None, orders: int) -> float | None:
    return None if retries is None else 100 * retries / max(orders, 1)


def aborts_logged(log_file: Path | None) -> int | None:
    """Transactions PostgreSQL has aborted so far for a serialization failure or a deadlock,
    as its log file says; None without PostgreSQL."""
    if log_file is None or not log_file.exists():
        return None
    with log_file.open(errors="replace") as log:
        return sum(1 for line in log if any(abort in line for abort in ABORTS))


def counted_in(exposition: str) -> float | None:
    """The sum of SERIES' samples in a Prometheus text page (every label set); None if absent."""
    values = []
    for line in exposition.splitlines():
        if not line.startswith((SERIES + " ", SERIES + "{")):
            continue
        sample = line[len(SERIES) :]
        if sample.startswith("{"):
            sample = sample[sample.rindex("}") + 1 :]
        values.append(float(sample.split()[0]))  # a timestamp may follow the value
    return sum(values) if values else None


def _of(addr: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://{addr}/metrics", timeout=TIMEOUT_SECONDS) as page:
            return counted_in(page.read().decode())
    except (urllib.error.URLError, OSError):
        return None  # no metrics port: this process exports nothing to read
