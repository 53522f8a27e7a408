"""One configuration measured: warm up, saturate, hold a fixed rate; CPU and memory alongside."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tooling.bench import cpu, ghz, memory
from tooling.bench.plan import OVERLOAD_FACTOR, Plan, overload
from tooling.bench.progress import say

CORE = ("gateway", "orders", "accounts", "fees", "market", "nats", "jaeger")


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
    target: str,
    pids: Mapping[str, int],
    plan: Plan,
    metadata: Mapping[str, str],
    shedding: bool = False,
) -> Measurement:
    """Load `target` (the gateway, or the first baseline hop) and watch `pids` meanwhile."""
    idle, idle_together = memory.snapshot(pids), memory.together_mb(pids.values())
    say(f"{name}: warming up ({_describe(plan.warmup)})")
    warmup = ghz.run(target, plan.warmup, "warm", metadata)
    cpu.wait_until_idle(pids, plan.settle_seconds)

    say(f"{name}: light load ({_describe(plan.light)})")
    light = ghz.run(target, plan.light, "light", metadata)
    cpu.wait_until_idle(pids, plan.settle_seconds)

    say(f"{name}: saturation ({_describe(plan.saturation)})")
    before = cpu.snapshot(pids)
    saturation = ghz.run(target, plan.saturation, "sat", metadata)
    settle = cpu.wait_until_idle(pids, plan.settle_seconds)
    used = cpu.used_since(before, pids)
    per_order = {n: 1000 * seconds / max(saturation.ok, 1) for n, seconds in used.items()}

    say(f"{name}: fixed rate ({_describe(plan.fixed_rate)})")
    fixed_rate = ghz.run(target, plan.fixed_rate, "rate", metadata)
    cpu.wait_until_idle(pids, plan.settle_seconds)
    overloaded, offered = None, 0
    if shedding and plan.overload_seconds:
        load = overload(plan, saturation.rps)
        offered = load.rate
        say(f"{name}: overload, {OVERLOAD_FACTOR}x saturation ({_describe(load)})")
        overloaded = ghz.run(target, load, "over", metadata)
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
    )


def _describe(load: ghz.Load) -> str:
    amount = f"{load.seconds:g} s" if load.seconds else f"{load.total} calls"
    rate = f" at {load.rate}/s" if load.rate else ""
    return f"{amount}{rate}, {load.concurrency} workers"
