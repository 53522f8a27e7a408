"""Loading every gateway replica at once: the load is shared out, and the loaders' reports
merge into one as if a single ghz had made every call."""

from __future__ import annotations

from typing import Any

from tooling.bench import ghz
from tooling.bench.fan_out import merged, percentile, split
from tooling.bench.ghz import Load

MS = 1_000_000  # ghz reports nanoseconds


def report(latencies_ms: list[float], seconds: float, failed: int = 0) -> dict[str, Any]:
    """A ghz JSON report of calls with these latencies, the last `failed` of them failed."""
    ok = len(latencies_ms) - failed
    details = [
        {"latency": ms * MS, "status": "OK" if i < ok else "Unavailable", "error": ""}
        for i, ms in enumerate(latencies_ms)
    ]
    return {
        "count": len(latencies_ms),
        "total": seconds * 1000 * MS,
        "average": sum(latencies_ms) / len(latencies_ms) * MS,
        "rps": len(latencies_ms) / seconds,
        "statusCodeDistribution": {"OK": ok, **({"Unavailable": failed} if failed else {})},
        "errorDistribution": {"connection refused": failed} if failed else {},
        "latencyDistribution": [],
        "details": details,
    }


def test_workers_rate_and_calls_are_shared_out_and_add_up() -> None:
    parts = split(Load(concurrency=33, total=101, rate=51), 2)

    assert [p.concurrency for p in parts] == [17, 16]
    assert [p.total for p in parts] == [51, 50]
    assert [p.rate for p in parts] == [26, 25]


def test_a_timed_run_keeps_its_duration_and_flat_out_stays_flat_out() -> None:
    parts = split(Load(concurrency=32, seconds=20), 2)

    assert parts == [Load(concurrency=16, seconds=20), Load(concurrency=16, seconds=20)]


def test_every_loader_gets_at_least_one_worker() -> None:
    assert [p.concurrency for p in split(Load(concurrency=1, total=10), 2)] == [1, 1]


def test_merged_counts_sum_and_the_rate_is_both_rates_together() -> None:
    result = ghz.parse(merged([report([10.0] * 30, 10.0), report([20.0] * 10, 10.0, failed=2)]))

    assert (result.count, result.ok, result.errors) == (40, 38, 2)
    assert result.rps == 4.0
    assert result.seconds == 10.0
    assert result.failures == {"Unavailable": 2, "connection refused": 2}


def test_merged_percentiles_are_taken_over_every_call_not_averaged() -> None:
    # 90 fast calls through one replica, 10 slow through the other: the whole's p95 is slow,
    # although the fast replica's own p95 (10 ms) outweighs the slow one's nine to one.
    fast, slow = report([10.0] * 90, 5.0), report([100.0] * 10, 5.0)

    result = ghz.parse(merged([fast, slow]))

    assert result.p50_ms == 10.0
    assert result.p95_ms == 100.0
    assert result.average_ms == 19.0


def test_merged_latency_of_the_calls_that_succeeded_leaves_the_failed_out() -> None:
    result = ghz.parse(merged([report([10.0] * 19 + [900.0], 1.0, failed=1)] * 2))

    assert result.ok_p95_ms == 10.0
    assert result.p99_ms == 900.0


def test_percentiles_are_ghz_own() -> None:
    ordered = [float(n) for n in range(1, 101)]  # 1 .. 100

    assert [percentile(ordered, p) for p in (50, 95, 99)] == [50.0, 95.0, 99.0]
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0
    assert percentile([7.0], 10) == 7.0
