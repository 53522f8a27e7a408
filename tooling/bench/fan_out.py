"""Every gateway replica loaded at once: one ghz per replica, the load split between them, and
their reports merged into one result.

ghz dials one address, and a client-side balancer in front of it would be a part of its own to
measure; so each replica gets its own ghz, all started together, each with its share of the
workers, of the rate and of the calls. The merged result counts every call once: counts and
status codes are summed, the rate is the sum of the rates (the runs overlap in time), and the
percentiles are taken again from every call's latency in the reports' details (percentiles of
parts cannot be averaged or weighted into the percentile of the whole).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from tooling.bench import ghz
from tooling.bench.ghz import Load, Result
from tooling.bench.workload import Workload

# ghz's own percentiles (runner/reporter.go), so a merged report reads as one ghz run's.
PERCENTILES = (10, 25, 50, 75, 90, 95, 99)


def run(targets: Sequence[str], load: Load, request_prefix: str, workload: Workload) -> Result:
    """PlaceSellOrder on every one of `targets` at once, `load` shared out; one result."""
    if len(targets) == 1:
        return ghz.run(targets[0], load, workload.data(request_prefix), workload.metadata())
    loads = split(load, len(targets))

    def one(index: int) -> Any:
        # Each loader its own request ids, and its own place to start in the accounts.
        offset = index * workload.accounts // len(targets)
        data = workload.data(f"{request_prefix}{index + 1}", offset)
        return ghz.report(targets[index], loads[index], data, workload.metadata(offset))

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        reports = list(pool.map(one, range(len(targets))))
    return ghz.parse(merged(reports))


def split(load: Load, parts: int) -> list[Load]:
    """`load` shared out over `parts` loaders running at once: workers, rate and calls each
    divided (the first ones take the remainder), the duration the same."""
    return [
        replace(
            load,
            concurrency=max(_share(load.concurrency, parts, i), 1),
            total=_share(load.total, parts, i),
            rate=_share(load.rate, parts, i),
        )
        for i in range(parts)
    ]


def merged(reports: Sequence[Any]) -> dict[str, Any]:
    """Reports of runs that overlapped in time, as one ghz report (the fields ghz.parse reads)."""
    count = sum(int(r["count"]) for r in reports)
    details = [d for r in reports for d in r.get("details") or []]
    latencies = sorted(float(d["latency"]) for d in details)
    return {
        "count": count,
        "total": max(float(r["total"]) for r in reports),
        "average": sum(float(r["average"]) * int(r["count"]) for r in reports) / max(count, 1),
        "rps": sum(float(r["rps"]) for r in reports),
        "statusCodeDistribution": _summed(r.get("statusCodeDistribution") for r in reports),
        "errorDistribution": _summed(r.get("errorDistribution") for r in reports),
        "latencyDistribution": [
            {"percentage": p, "latency": percentile(latencies, p)} for p in PERCENTILES
        ]
        if latencies
        else [],
        "details": details,
    }


def percentile(ordered: Sequence[float], percent: int) -> float:
    """ghz's percentile of sorted latencies: the value at rank ceil(p% of n), counted from 1."""
    rank = percent / 100 * len(ordered)
    index = int(rank) - 1 if rank == int(rank) else int(rank)
    return ordered[max(index, 0)]


def _summed(distributions: Any) -> dict[str, int]:
    total: Counter[str] = Counter()
    for distribution in distributions:
        total.update({str(k): int(v) for k, v in (distribution or {}).items()})
    return dict(total)


def _share(amount: int, parts: int, index: int) -> int:
    return amount // parts + (1 if index < amount % parts else 0)
