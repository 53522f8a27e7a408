"""How hard and how long each measurement pushes: the full run, and the quick one for tests."""

from __future__ import annotations

from dataclasses import dataclass

from tooling.bench.capacity import Search
from tooling.bench.ghz import Load

OVERLOAD_FACTOR = 3


@dataclass(frozen=True)
class Plan:
    warmup: Load  # gets connections and caches warm
    light: Load  # a trickle: latency with no queueing, what each hop itself adds
    saturation: Load  # flat out: throughput
    fixed_rate: Load  # a steady rate: latency
    settle_seconds: float  # longest wait for the events an order sets off to be handled
    no_tracing: bool  # also measure `make run --no-tracing` (the SDK disabled)
    # Overload: OVERLOAD_FACTOR times the rate the saturation run reached, with enough workers
    # to keep offering it, so the gateway must shed (GATEWAY_MAX_IN_FLIGHT); the mesh only.
    overload_seconds: float = 0.0
    overload_concurrency: int = 256
    # The capacity within the objective (tooling/bench/capacity.py), of the rows that search it.
    capacity: Search | None = None

    @property
    def rate(self) -> int:
        return self.fixed_rate.rate


def full(rate: int, seconds: float, concurrency: int) -> Plan:
    return Plan(
        warmup=Load(concurrency=16, total=600),
        light=Load(concurrency=4, seconds=5, rate=20),
        saturation=Load(concurrency=concurrency, seconds=seconds),
        fixed_rate=Load(concurrency=workers_for(rate), seconds=seconds, rate=rate),
        settle_seconds=60.0,
        no_tracing=True,
        overload_seconds=seconds,
        capacity=Search(warmup_seconds=3.0, seconds=8.0, start_fraction=0.5, max_steps=5),
    )


def quick() -> Plan:
    """Seconds, small counts: proves the harness works; its figures mean nothing."""
    return Plan(
        warmup=Load(concurrency=4, total=20),
        light=Load(concurrency=2, total=10, rate=20),
        saturation=Load(concurrency=8, total=50),
        fixed_rate=Load(concurrency=8, total=50, rate=50),
        settle_seconds=10.0,
        no_tracing=True,
        overload_seconds=2.0,
        overload_concurrency=32,
        capacity=Search(warmup_seconds=0.5, seconds=1.0, start_fraction=0.5, max_steps=3),
    )


def workers_for(rate: int) -> int:
    """ghz's workers for a fixed rate: enough that it holds even when a call takes a quarter of
    a second."""
    return max(50, rate // 4)


def overload(plan: Plan, saturation_rps: float) -> Load:
    """The overload run: OVERLOAD_FACTOR times what the saturation run got."""
    rate = max(int(OVERLOAD_FACTOR * saturation_rps), 1)
    return Load(concurrency=plan.overload_concurrency, seconds=plan.overload_seconds, rate=rate)
