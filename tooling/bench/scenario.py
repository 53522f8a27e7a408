"""One configuration measured: warm up, saturate, search the capacity within the objective, hold
a fixed rate; CPU and memory alongside."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.bench import capacity, cpu, fan_out, ghz, memory, retries
from tooling.bench.capacity import Capacity
from tooling.bench.plan import OVERLOAD_FACTOR, Plan, overload, workers_for
from tooling.bench.progress import say
from tooling.bench.workload import Workload

CORE = ("gateway", "orders", "accounts", "fees", "market", "nats", "jaeger")
Drive = Callable[[ghz.Load, str], ghz.Result]  # one load on the targets, its request-id prefix


@dataclass(frozen=True)
class Measurement:
    name: str
    warmup: ghz.Result
    light: ghz.Result
    saturation: ghz.Result
    fixed_rate: ghz.Result
    # CPU each process spent per order in the saturation run, the events it set off included.
    cpu_ms_per_order: Mapping[str, float]
    settle_seconds: float  # after the saturation run, until the processes were idle again
    memory_idle: Mapping[str, memory.Resident]  # started, before any load
    memory: Mapping[str, memory.Resident]  # after all the load
    memory_idle_together_mb: float  # all processes together, shared pages once
    memory_together_mb: float
    # The core mesh only (the five services, NATS, Jaeger): issue 17's memory target.
    memory_core_together_mb: float = 0.0
    startup_seconds: float | None = None  # the launcher's: its start to all five SERVING
    ready_seconds: float | None = None  # spawning the launcher to its ready file
    # OVERLOAD_FACTOR times the saturation rate: the gateway sheds what it cannot admit.
    overload: ghz.Result | None = None
    overload_offered: int = 0  # calls a second asked for
    workload: str = ""  # whose orders: spread over many accounts, or the hot account
    database: str = ""  # sqlite or postgres; "" for the bare chain
    # Transactions the services ran again after a serialization failure or deadlock, during all
    # of this configuration's load; None where no process counts them (tooling/bench/retries.py).
    retries: float | None = None
    # Transactions PostgreSQL aborted for a serialization failure or deadlock meanwhile, as its
    # log says (the other side of `retries`); None without PostgreSQL.
    aborts_logged: int | None = None
    # The highest fixed rate served within the objective; None where this row did not search.
    capacity: Capacity | None = None

    @property
    def orders(self) -> int:
        """Orders the mesh accepted over every run of this configuration, the overload's and the
        capacity search's too."""
        runs = [*self.results.values(), *([self.overload] if self.overload else [])]
        return sum(r.ok for r in runs) + (self.capacity.orders if self.capacity else 0)

    @property
    def results(self) -> Mapping[str, ghz.Result]:
        return {
            "warmup": self.warmup,
            "light": self.light,
            "saturation": self.saturation,
            "fixed_rate": self.fixed_rate,
        }


def measure(
    name: str,
    targets: Sequence[str],
    pids: Mapping[str, int],
    plan: Plan,
    workload: Workload,
    shedding: bool = False,
    metrics_addrs: Iterable[str] = (),
    postgres_log: Path | None = None,
    searched: bool = False,
) -> Measurement:
    """Load `targets` (every gateway replica, or the first baseline hop) with `workload`'s
    orders and watch `pids` meanwhile; count retries on the services' `metrics_addrs` and
    aborts in `postgres_log`; search the capacity within the objective if `searched`."""
    metrics_addrs = list(metrics_addrs)
    retried_before = retries.total(metrics_addrs)
    aborted_before = retries.aborts_logged(postgres_log)
    drive = driver(targets, workload)

    idle, idle_together = memory.snapshot(pids), memory.together_mb(pids.values())
    say(f"{name}: warming up ({_describe(plan.warmup)})")
    warmup = drive(plan.warmup, "warm")
    cpu.wait_until_idle(pids, plan.settle_seconds)

    say(f"{name}: light load ({_describe(plan.light)})")
    light = drive(plan.light, "light")
    cpu.wait_until_idle(pids, plan.settle_seconds)

    say(f"{name}: saturation ({_describe(plan.saturation)})")
    before = cpu.snapshot(pids)
    saturation = drive(plan.saturation, "sat")
    settle = cpu.wait_until_idle(pids, plan.settle_seconds)
    used = cpu.used_since(before, pids)
    per_order = {n: 1000 * seconds / max(saturation.ok, 1) for n, seconds in used.items()}
    # Before the fixed rate, which may be past what the mesh takes and leave its breakers open:
    # the search finds the mesh as --capacity-only does, just after the flat-out run.
    found = search_capacity(name, drive, pids, plan, saturation) if searched else None

    say(f"{name}: fixed rate ({_describe(plan.fixed_rate)})")
    fixed_rate = drive(plan.fixed_rate, "rate")
    cpu.wait_until_idle(pids, plan.settle_seconds)
    overloaded, offered = None, 0
    if shedding and plan.overload_seconds:
        flood = overload(plan, saturation.rps)
        offered = flood.rate
        say(f"{name}: overload, {OVERLOAD_FACTOR}x saturation ({_describe(flood)})")
        overloaded = drive(flood, "over")
        cpu.wait_until_idle(pids, plan.settle_seconds)
    failed = sum(r.errors for r in (warmup, light, saturation, fixed_rate))
    say(
        f"{name}: {saturation.rps:.0f} orders/s flat out; at {plan.rate}/s "
        f"p50 {fixed_rate.p50_ms:.1f} ms, p95 {fixed_rate.p95_ms:.1f} ms"
        + (f"; {failed} calls failed" if failed else "")
    )
    return Measurement(
        name=name,
        warmup=warmup,
        light=light,
        saturation=saturation,
        fixed_rate=fixed_rate,
        cpu_ms_per_order=per_order,
        settle_seconds=settle,
        memory_idle=idle,
        memory=memory.snapshot(pids),
        memory_idle_together_mb=idle_together,
        memory_together_mb=memory.together_mb(pids.values()),
        memory_core_together_mb=memory.together_mb(p for n, p in pids.items() if n in CORE),
        overload=overloaded,
        overload_offered=offered,
        workload=workload.name,
        retries=retries.since(retried_before, retries.total(metrics_addrs)),
        aborts_logged=_since(aborted_before, retries.aborts_logged(postgres_log)),
        capacity=found,
    )


def measure_capacity(
    name: str, targets: Sequence[str], pids: Mapping[str, int], plan: Plan, workload: Workload
) -> Capacity:
    """The capacity search alone: a warm-up, the flat-out run it starts from, the search."""
    drive = driver(targets, workload)
    say(f"{name}: warming up ({_describe(plan.warmup)})")
    drive(plan.warmup, "warm")
    cpu.wait_until_idle(pids, plan.settle_seconds)
    say(f"{name}: saturation ({_describe(plan.saturation)})")
    saturation = drive(plan.saturation, "sat")
    cpu.wait_until_idle(pids, plan.settle_seconds)
    return search_capacity(name, drive, pids, plan, saturation)


def search_capacity(
    name: str, drive: Drive, pids: Mapping[str, int], plan: Plan, flat_out: ghz.Result
) -> Capacity:
    """Hold fixed rates, starting from a share of `flat_out`'s, until the highest one served
    within the objective is found; each step starts with the processes idle."""
    search = plan.capacity
    assert search is not None, "this plan searches no capacity"
    numbers = itertools.count(1)

    def hold(rate: int) -> capacity.Step:
        number = next(numbers)  # each step's orders have request ids of their own
        warmup = ghz.Load(workers_for(rate), seconds=search.warmup_seconds, rate=rate)
        measured = dataclasses.replace(warmup, seconds=search.seconds)
        say(f"{name}: capacity step {number}: {_describe(warmup)}, then {_describe(measured)}")
        warm = drive(warmup, f"capw{number}")
        result = drive(measured, f"cap{number}")
        cpu.wait_until_idle(pids, plan.settle_seconds)
        step = capacity.Step(rate, search.seconds, result, warm)
        say(
            f"{name}: {rate}/s: sent {step.sent_rps:.1f}/s, p95 {result.p95_ms:.1f} ms, "
            f"{result.errors} errors: {step.missed or 'within the objective'}"
        )
        return step

    began = time.monotonic()
    steps = capacity.search(hold, capacity.first_rate(flat_out.ok_rps, search), search)
    found = Capacity(flat_out, steps, time.monotonic() - began)
    served = f"{found.rate}/s" if found.rate else "no rate held"
    say(f"{name}: {served} within the objective ({len(steps)} steps, {found.seconds:.0f} s)")
    return found


def driver(targets: Sequence[str], workload: Workload) -> Drive:
    """PlaceSellOrder loads on every one of `targets` with `workload`'s orders."""

    def drive(phase: ghz.Load, prefix: str) -> ghz.Result:
        return fan_out.run(targets, phase, prefix, workload)

    return drive


def _since(before: int | None, after: int | None) -> int | None:
    return None if before is None or after is None else after - before


def _describe(load: ghz.Load) -> str:
    amount = f"{load.seconds:g} s" if load.seconds else f"{load.total} calls"
    rate = f" at {load.rate}/s" if load.rate else ""
    return f"{amount}{rate}, {load.concurrency} workers"
