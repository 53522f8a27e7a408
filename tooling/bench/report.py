"""The benchmark's answer: one printed table, and the same figures as JSON under results/."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tooling.bench import objective, production, retries
from tooling.bench.baseline import HOPS
from tooling.bench.capacity import Capacity
from tooling.bench.memory import rss_sum_mb
from tooling.bench.plan import OVERLOAD_FACTOR, Plan
from tooling.bench.rows import (
    BASELINE,
    CLUSTER,
    MESH_TLS_OFF,
    METRICS_OFF,
    NO_TRACING,
    SAMPLER_OFF,
    TRACING_ON,
)
from tooling.bench.scenario import Measurement
from tooling.bench.target import Target

PHASES = ("warmup", "light", "saturation", "fixed_rate")


def comparisons(measured: Mapping[str, Measurement]) -> dict[str, float]:
    """Ratios between configurations of this run: what docs/performance.md compares (each
    where the configurations it needs were measured)."""
    found = production.comparisons(measured)
    on = measured.get(TRACING_ON)
    if on is None:
        return found
    if CLUSTER in measured:
        cluster = measured[CLUSTER]
        found["cluster_over_tracing_on_throughput"] = found["cluster_over_single_throughput"]
        found["cpu_ms_per_order_cluster"] = sum(cluster.cpu_ms_per_order.values())
        found["cpu_ms_per_order_tracing_on"] = sum(on.cpu_ms_per_order.values())
        found["cluster_added_ms_p95"] = cluster.fixed_rate.p95_ms - on.fixed_rate.p95_ms
        found["cluster_memory_over_tracing_on"] = _ratio(
            cluster.memory_together_mb, on.memory_together_mb
        )
    if SAMPLER_OFF not in measured or BASELINE not in measured:
        return found
    off, bare = measured[SAMPLER_OFF], measured[BASELINE]
    found |= {
        "tracing_on_over_sampler_off_throughput": _ratio(on.saturation.rps, off.saturation.rps),
        "mesh_over_baseline_throughput": _ratio(on.saturation.rps, bare.saturation.rps),
        # Under a trickle of calls nothing queues: this is what each hop itself adds.
        "mesh_added_ms_per_hop_p50_light": (on.light.p50_ms - bare.light.p50_ms) / HOPS,
        "mesh_added_ms_per_hop_p50": (on.fixed_rate.p50_ms - bare.fixed_rate.p50_ms) / HOPS,
        "mesh_added_ms_per_hop_p50_sampler_off": (off.fixed_rate.p50_ms - bare.fixed_rate.p50_ms)
        / HOPS,
        "cpu_ms_per_order_tracing_on": sum(on.cpu_ms_per_order.values()),
        "cpu_ms_per_order_sampler_off": sum(off.cpu_ms_per_order.values()),
        "cpu_ms_per_order_baseline": sum(bare.cpu_ms_per_order.values()),
    }
    found["tracing_cost_percent"] = 100 * (1 - found["tracing_on_over_sampler_off_throughput"])
    # The same cost read from CPU time per order, which a busy machine disturbs less than a
    # throughput figure: on a CPU-bound mesh, throughput goes as 1 / (CPU per order).
    found["tracing_cost_percent_by_cpu"] = 100 * (
        1 - _ratio(found["cpu_ms_per_order_sampler_off"], found["cpu_ms_per_order_tracing_on"])
    )
    if NO_TRACING in measured:
        none = measured[NO_TRACING]
        found["tracing_on_over_no_tracing_throughput"] = _ratio(
            on.saturation.rps, none.saturation.rps
        )
        found["cpu_ms_per_order_no_tracing"] = sum(none.cpu_ms_per_order.values())
    if METRICS_OFF in measured:
        found.update(_cost_of("metrics", "metrics_off", on, measured[METRICS_OFF]))
    if MESH_TLS_OFF in measured:
        plain = measured[MESH_TLS_OFF]
        found.update(_cost_of("mtls", "mesh_tls_off", on, plain))
        found["mtls_added_ms_p50"] = on.fixed_rate.p50_ms - plain.fixed_rate.p50_ms
    return found


def targets(
    measured: Mapping[str, Measurement], plan: Plan, capacities: Mapping[str, Capacity]
) -> list[Target]:
    """Issue 17's targets (where tracing on, the sampler off and the bare chain were measured),
    issue 24's (tooling/bench/production.py) and issue 26's (tooling/bench/objective.py)."""
    found = comparisons(measured)
    ratio = found.get("tracing_on_over_sampler_off_throughput")
    return [
        *_issue_17_targets(measured, plan, found),
        *production.targets(measured),
        *objective.targets(
            capacities,
            production.flat_out(measured[BASELINE]) if BASELINE in measured else None,
            None if ratio is None else 100 * (1 - ratio),
        ),
    ]


def _issue_17_targets(
    measured: Mapping[str, Measurement], plan: Plan, found: Mapping[str, float]
) -> list[Target]:
    if "tracing_on_over_sampler_off_throughput" not in found:
        return []
    on = measured[TRACING_ON]
    ratio = found["tracing_on_over_sampler_off_throughput"]
    metrics = (
        [Target("throughput metrics cost", found["metrics_cost_percent"], 5.0, "%")]
        if "metrics_cost_percent" in found
        else []
    )
    # Issue 17's: mesh / bare chain >= 0.40, tracing <= 10%, core mesh < 350 MB.
    return [
        Target(
            "throughput, mesh / bare 3-hop chain",
            100 * found["mesh_over_baseline_throughput"],
            40.0,
            "%",
            at_most=False,
        ),
        Target(f"p95 at {plan.rate}/s, tracing on", on.fixed_rate.p95_ms, 100.0, "ms"),
        Target("throughput tracing costs", 100 * (1 - ratio), 10.0, "%"),
        *metrics,
        Target("spawn to every service SERVING", on.ready_seconds or 0.0, 5.0, "s"),
        Target("core mesh memory, after load", on.memory_core_together_mb, 350.0, "MB"),
        Target("memory of the whole mesh, after load", on.memory_together_mb, 400.0, "MB"),
    ]


def document(
    measured: Mapping[str, Measurement],
    plan: Plan,
    machine: Mapping[str, Any],
    quick: bool,
    searched: Mapping[str, Capacity] | None = None,
) -> dict[str, Any]:
    """Everything as plain JSON data; the capacities the rows searched, and those `searched`
    on their own (--capacity-only)."""
    capacities = {n: m.capacity for n, m in measured.items() if m.capacity} | dict(searched or {})
    found = targets(measured, plan, capacities)
    return {
        "benchmark": "simplebank-mesh PlaceSellOrder",
        "quick": quick,
        "machine": dict(machine),
        "plan": dataclasses.asdict(plan),
        "configurations": {name: _measurement(m) for name, m in measured.items()},
        "capacity": {
            name: objective.as_json(capacity, plan.capacity)
            for name, capacity in capacities.items()
            if plan.capacity
        },
        "comparisons": comparisons(measured),
        "targets": [{**dataclasses.asdict(t), "met": t.met} for t in found],
    }


def write(doc: Mapping[str, Any], folder: Path, stamp: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{stamp}{'-quick' if doc['quick'] else ''}.json"
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return path


def malformed(doc: Mapping[str, Any]) -> list[str]:
    """Why a report is not well formed: missing or non-finite figures, not plain JSON."""
    found: list[str] = []
    for name, config in doc["configurations"].items():
        for phase in PHASES:
            result = config[phase]
            if not (isinstance(result["count"], int) and result["count"] > 0):
                found.append(f"{name} {phase}: no calls counted")
            for key in ("rps", "p50_ms", "p95_ms", "p99_ms"):
                if not (isinstance(result[key], float) and math.isfinite(result[key])):
                    found.append(f"{name} {phase}: {key} is {result[key]!r}")
        if not all(m["rss_mb"] > 0 for m in config["memory_mb"].values()):
            found.append(f"{name}: a process's resident memory could not be read")
    found += objective.malformed(doc)
    try:
        json.loads(json.dumps(doc, allow_nan=False))
    except ValueError as error:
        found.append(f"the report is not plain JSON: {error}")
    return found


def failed_calls(doc: Mapping[str, Any]) -> list[str]:
    """Each run in which not every call succeeded, with what the failures were."""
    found: list[str] = []
    for name, config in doc["configurations"].items():
        for phase in PHASES:
            result = config[phase]
            if result["ok"] != result["count"]:
                failures = ", ".join(f"{n} x {what}" for what, n in result["failures"].items())
                found.append(
                    f"{name}, {phase}: {result['ok']} of {result['count']} ok ({failures})"
                )
    return found


def table(doc: Mapping[str, Any]) -> str:
    """The one table a person reads, with the comparisons and targets under it."""
    plan, configs, ratios = doc["plan"], doc["configurations"], doc["comparisons"]
    rate = plan["fixed_rate"]["rate"]
    machine = doc["machine"]
    lines = [
        f"PlaceSellOrder through the gateway ({HOPS} gRPC hops) on {machine['nproc']} x "
        f"{machine['cpu_model']}" + ("  [--quick: figures mean nothing]" if doc["quick"] else ""),
        "",
        *objective.headline(doc),
    ]
    if configs:
        lines += _header(rate)
    for name, config in configs.items():
        sat, fixed, light = config["saturation"], config["fixed_rate"], config["light"]
        errors = sum(config[p]["count"] - config[p]["ok"] for p in PHASES)
        ready = config["ready_seconds"]
        # Orders the mesh accepted a second: a call refused fast is not throughput.
        accepted = sat["ok"] / sat["seconds"] if sat["seconds"] else 0.0
        lines.append(
            f"{name:<22}{accepted:>10.1f}{config['cpu_ms_per_order_total']:>8.1f}"
            f"{light['p50_ms']:>8.1f}  "
            f"{fixed['p50_ms']:>8.1f}{fixed['p95_ms']:>9.1f}{fixed['p99_ms']:>9.1f}"
            f"{fixed['rps']:>10.1f}  {errors:>7}{'-' if ready is None else f'{ready:.2f}':>7}"
            f"{config['memory_together_mb']:>8.0f}{_retries(config):>9}"
        )
    lines += _workload_lines(configs)
    lines += _overload_lines(configs)
    lines += ["", *objective.lines(doc)]
    failures = failed_calls(doc)
    if failures:
        lines += ["", "failed calls:", *(f"  {line}" for line in failures)]
    lines += ["", *_comparison_lines(ratios, rate), *_production_lines(ratios)]
    lines += ["", *_memory_lines(configs)]
    for issue in sorted({target["issue"] for target in doc["targets"]}):
        lines += ["", f"targets of issue {issue} (ratios within this run):"]
        lines += [_target_line(t) for t in doc["targets"] if t["issue"] == issue]
    # Sections with nothing to say (a --capacity-only run has no table) leave no gaps.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _header(rate: int) -> list[str]:
    return [
        f"{'':<22}{'flat out':>10}{'CPU ms':>8}{'light':>8}  {f'at {rate}/s':-^36}  {'':>7}"
        f"{'ready':>7}{'memory':>8}{'retries':>9}",
        f"{'configuration':<22}{'ok/s':>10}{'/order':>8}{'p50 ms':>8}  {'p50 ms':>8}"
        f"{'p95 ms':>9}{'p99 ms':>9}{'got/s':>10}  {'errors':>7}{'s':>7}{'MB':>8}"
        f"{'/100':>9}",
    ]


def _target_line(target: Mapping[str, Any]) -> str:
    sign = "<=" if target["at_most"] else ">="
    value, unit = target["value"], target["unit"]
    shown = "n/a" if value is None else f"{value:.2f}" if unit == "x" else f"{value:.1f}"
    verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
    return (
        f"target  {target['name']:<44}{shown:>8} {unit:<3}"
        f"(want {sign} {target['limit']:g})  {verdict}"
    )


def _retries(config: Mapping[str, Any]) -> str:
    """Retries per 100 orders: '-' on SQLite (nothing to retry), n/a where none was exported."""
    if config.get("database") != "postgres":
        return "-"
    return _hundredths(config.get("retries_per_100_orders"))


def _hundredths(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _workload_lines(configs: Mapping[str, Any]) -> list[str]:
    """Whose orders each row placed, once for each workload."""
    rows: dict[str, list[str]] = {}
    for name, config in configs.items():
        if config.get("database"):  # the bare chain answers without any account
            rows.setdefault(config["workload"], []).append(name)
    lines = ["", *(f"orders {workload}: {', '.join(names)}" for workload, names in rows.items())]
    on_postgres = {n: c for n, c in configs.items() if c.get("database") == "postgres"}
    if on_postgres:
        aborted = (
            f"{name} {_hundredths(c['aborts_logged_per_100_orders'])}"
            for name, c in on_postgres.items()
        )
        lines += [
            "retries/100: transactions run again after a serialization failure or deadlock, per"
            " 100 orders (simplebank_database_retries_total of every process; n/a: not exported)",
            "PostgreSQL's log, transactions aborted (serialization failure, deadlock) per 100"
            " orders: " + ", ".join(aborted),
        ]
    return lines


def _production_lines(ratios: Mapping[str, float]) -> list[str]:
    """Issue 24's comparisons: PostgreSQL and the cluster against SQLite, hot against spread."""
    pairs = (
        ("postgres / sqlite", "postgres_over_sqlite"),
        ("cluster / postgres", "cluster_over_postgres"),
    )
    lines = [
        f"{label + ', throughput':<39}{ratios[f'{key}_throughput']:.2f}  (CPU per order x"
        f"{ratios[f'{key}_cpu_per_order']:.2f})"
        for label, key in pairs
        if f"{key}_throughput" in ratios
    ]
    for backend in ("sqlite", "postgres", "cluster"):
        key = f"hot_over_spread_throughput_{backend}"
        if key in ratios:
            lines.append(f"{f'hot account / spread, {backend}':<39}{ratios[key]:.2f}")
    return lines


def _comparison_lines(ratios: Mapping[str, float], rate: int) -> list[str]:
    def line(label: str, value: str) -> str:
        return f"{label:<39}{value}"

    lines = []
    if "tracing_on_over_sampler_off_throughput" in ratios:
        lines.append(
            line(
                "tracing on / sampler off, throughput",
                f"{ratios['tracing_on_over_sampler_off_throughput']:.2f}  (tracing costs "
                f"{ratios['tracing_cost_percent']:.0f}%; by CPU per order "
                f"{ratios['tracing_cost_percent_by_cpu']:.0f}%)",
            )
        )
    if "tracing_on_over_no_tracing_throughput" in ratios:
        lines.append(
            line(
                "tracing on / no tracing, throughput",
                f"{ratios['tracing_on_over_no_tracing_throughput']:.2f}",
            )
        )
    if "metrics_cost_percent" in ratios:
        lines.append(
            line(
                "tracing on / metrics off, throughput",
                f"{ratios['tracing_on_over_metrics_off_throughput']:.2f}  (metrics and their "
                f"watchers cost {ratios['metrics_cost_percent']:.0f}%; by CPU per order "
                f"{ratios['metrics_cost_percent_by_cpu']:.0f}%)",
            )
        )
    if "mtls_cost_percent" in ratios:
        lines.append(
            line(
                "tracing on / mesh TLS off, throughput",
                f"{ratios['tracing_on_over_mesh_tls_off_throughput']:.2f}  (mTLS and authorization "
                f"cost {ratios['mtls_cost_percent']:.0f}%; by CPU per order "
                f"{ratios['mtls_cost_percent_by_cpu']:.0f}%; "
                f"{ratios['mtls_added_ms_p50']:+.1f} ms at p50, {rate}/s)",
            )
        )
    if "cluster_over_tracing_on_throughput" in ratios:
        lines.append(
            line(
                "cluster / tracing on, throughput",
                f"{ratios['cluster_over_tracing_on_throughput']:.2f}  (CPU per order "
                f"{ratios['cpu_ms_per_order_cluster']:.1f} ms vs "
                f"{ratios['cpu_ms_per_order_tracing_on']:.1f}; p95 at {rate}/s "
                f"{ratios['cluster_added_ms_p95']:+.1f} ms; memory x"
                f"{ratios['cluster_memory_over_tracing_on']:.1f})",
            )
        )
    if "mesh_over_baseline_throughput" not in ratios:
        return lines
    return [
        *lines,
        line("mesh / bare baseline, throughput", f"{ratios['mesh_over_baseline_throughput']:.2f}"),
        line(
            "mesh adds per hop at p50, light load",
            f"{ratios['mesh_added_ms_per_hop_p50_light']:.1f} ms",
        ),
        line(
            f"mesh adds per hop at p50, {rate}/s",
            f"{ratios['mesh_added_ms_per_hop_p50']:.1f} ms (sampler off: "
            f"{ratios['mesh_added_ms_per_hop_p50_sampler_off']:.1f} ms)",
        ),
    ]


def _memory_lines(configs: Mapping[str, Any]) -> list[str]:
    if TRACING_ON not in configs:
        return _cluster_lines(configs)
    config = configs[TRACING_ON]
    parts = [f"{name} {m['rss_mb']:.0f}" for name, m in config["memory_mb"].items()]
    cpu = [f"{name} {ms:.2f}" for name, ms in config["cpu_ms_per_order"].items()]
    watchers = ("prometheus", "alertmanager", "blackbox")
    memory = config["memory_mb"]
    watched = sum(m["rss_mb"] for name, m in memory.items() if name in watchers)
    core = sum(m["rss_mb"] for name, m in memory.items() if name not in watchers)
    return [
        f"RSS after load, tracing on (MB):  {', '.join(parts)}",
        f"  core mesh (services, NATS, Jaeger) {core:.0f} MB RSS added up; "
        f"Prometheus, Alertmanager and the blackbox exporter {watched:.0f} MB",
        f"  together {config['memory_together_mb']:.0f} MB with shared pages counted once "
        f"(RSS added up: {config['memory_rss_sum_mb']:.0f}; idle after start: "
        f"{config['memory_idle_together_mb']:.0f})",
        f"CPU per order, tracing on (ms):   {', '.join(cpu)}",
        *_cluster_lines(configs),
    ]


def _cluster_lines(configs: Mapping[str, Any]) -> list[str]:
    """Where the cluster's CPU and memory go, replicas of a service added up."""
    if CLUSTER not in configs:
        return []
    config = configs[CLUSTER]
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    for name, ms in config["cpu_ms_per_order"].items():
        cpu[_kind(name)] = cpu.get(_kind(name), 0.0) + ms
    for name, memory in config["memory_mb"].items():
        rss[_kind(name)] = rss.get(_kind(name), 0.0) + memory["rss_mb"]
    return [
        f"cluster, CPU per order (ms):      {', '.join(f'{n} {v:.2f}' for n, v in cpu.items())}",
        f"cluster, RSS after load (MB):     {', '.join(f'{n} {v:.0f}' for n, v in rss.items())}"
        " (replicas and nodes added up; postgres with its backends)",
    ]


def _kind(name: str) -> str:
    """orders-2 -> orders, nats-3 -> nats: a replica's service."""
    base, _, number = name.rpartition("-")
    return base if number.isdigit() else name


def _overload_lines(configs: Mapping[str, Any]) -> list[str]:
    """The overload run: what was asked, what was admitted and how fast, what was shed."""
    lines = []
    for name, config in configs.items():
        over = config.get("overload")
        if not over:
            continue
        shed = over["failures"].get("ResourceExhausted", 0) + over["failures"].get(
            "RESOURCE_EXHAUSTED", 0
        )
        lines.append(
            f"{name}, overload at {config['overload_offered']}/s ({OVERLOAD_FACTOR}x flat out):"
            f" admitted {over['ok'] / max(over['seconds'], 1e-9):.0f}/s with p95"
            f" {over['ok_p95_ms']:.0f} ms, shed {shed / max(over['count'], 1):.0%}"
            f" (RESOURCE_EXHAUSTED), other errors {over['count'] - over['ok'] - shed}"
        )
    return ["", *lines] if lines else []


def _measurement(m: Measurement) -> dict[str, Any]:
    return {
        **{phase: dataclasses.asdict(result) for phase, result in m.results.items()},
        "cpu_ms_per_order": dict(m.cpu_ms_per_order),
        "cpu_ms_per_order_total": sum(m.cpu_ms_per_order.values()),
        "settle_seconds": m.settle_seconds,
        "memory_mb": {name: dataclasses.asdict(r) for name, r in m.memory.items()},
        "memory_rss_sum_mb": rss_sum_mb(m.memory),
        "memory_together_mb": m.memory_together_mb,
        "memory_core_together_mb": m.memory_core_together_mb,
        "memory_idle_mb": {name: dataclasses.asdict(r) for name, r in m.memory_idle.items()},
        "memory_idle_rss_sum_mb": rss_sum_mb(m.memory_idle),
        "memory_idle_together_mb": m.memory_idle_together_mb,
        "startup_seconds": m.startup_seconds,
        "ready_seconds": m.ready_seconds,
        "overload": None if m.overload is None else dataclasses.asdict(m.overload),
        "overload_offered": m.overload_offered,
        "workload": m.workload,
        "database": m.database,
        "orders": m.orders,
        "retries": m.retries,
        "retries_per_100_orders": production.retries_per_hundred(m),
        "aborts_logged": m.aborts_logged,
        "aborts_logged_per_100_orders": retries.per_hundred(m.aborts_logged, m.orders),
    }


def _cost_of(part: str, without: str, on: Measurement, off: Measurement) -> dict[str, float]:
    """What `part` costs: tracing on against the run `without` it, by throughput and by CPU."""
    throughput = _ratio(on.saturation.rps, off.saturation.rps)
    cpu_on, cpu_off = sum(on.cpu_ms_per_order.values()), sum(off.cpu_ms_per_order.values())
    return {
        f"tracing_on_over_{without}_throughput": throughput,
        f"{part}_cost_percent": 100 * (1 - throughput),
        f"cpu_ms_per_order_{without}": cpu_off,
        f"{part}_cost_percent_by_cpu": 100 * (1 - _ratio(cpu_off, cpu_on)),
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0
