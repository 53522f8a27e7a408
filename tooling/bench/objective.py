"""The capacity within the objective in the report: its JSON, its lines (the headline among
them), and issue 26's target: with tracing on, at least 80 orders/s on two cores, or on a slower
machine at least 7% of the bare chain's flat-out calls/s in the same run."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from tooling.bench.capacity import OBJECTIVE_P95_MS, Capacity, Search, narrow_enough
from tooling.bench.rows import TRACING_ON
from tooling.bench.target import Target

ISSUE = 26
OBJECTIVE = f"p95 <= {OBJECTIVE_P95_MS:g} ms, no errors"
ORDERS_PER_SECOND_ON_TWO_CORES = 80.0
PERCENT_OF_BARE_FLAT_OUT = 7.0
TRACING_COST_PERCENT = 12.0  # of the throughput, tracing on against the sampler off
NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")


def as_json(capacity: Capacity, search: Search) -> dict[str, Any]:
    served, failed = capacity.rate, capacity.lowest_failed
    return {
        "orders_per_second": served,
        "lowest_failed": failed,
        # Done because the two came close, not because the steps ran out.
        "narrowed": served is not None
        and failed is not None
        and narrow_enough(served, failed, search),
        "flat_out_ok_per_second": capacity.flat_out.ok_rps,
        "seconds": capacity.seconds,
        "steps": [
            {
                "offered": step.offered,
                "sent_rps": step.sent_rps,
                "missed": step.missed,
                "result": dataclasses.asdict(step.result),
            }
            for step in capacity.steps
        ],
    }


def targets(
    capacities: Mapping[str, Capacity],
    bare_flat_out: float | None,
    tracing_cost_percent: float | None = None,
) -> list[Target]:
    """Issue 26's, where tracing on searched its capacity; the share of the bare chain's flat
    out (calls/s) is not measured where the bare chain was not. Its tracing cost (throughput,
    tracing on against the sampler off) where both rows ran."""
    tracing = (
        []
        if tracing_cost_percent is None
        else [
            Target(
                "throughput tracing costs",
                tracing_cost_percent,
                TRACING_COST_PERCENT,
                "%",
                issue=ISSUE,
            )
        ]
    )
    on = capacities.get(TRACING_ON)
    if on is None:
        return tracing
    served = float(on.rate or 0)
    share = 100 * served / bare_flat_out if bare_flat_out else None
    return [
        Target(
            "capacity within the objective, tracing on",
            served,
            ORDERS_PER_SECOND_ON_TWO_CORES,
            "/s",
            at_most=False,
            issue=ISSUE,
        ),
        Target(
            "or: that capacity / bare chain's flat out",
            share,
            PERCENT_OF_BARE_FLAT_OUT,
            "%",
            at_most=False,
            issue=ISSUE,
        ),
        *tracing,
    ]


def headline(doc: Mapping[str, Any]) -> list[str]:
    """What the mesh serves within its objective, in one sentence, where tracing on searched."""
    found = doc["capacity"].get(TRACING_ON)
    if found is None:
        return []
    cores = doc["machine"]["nproc"]
    on = f"{NUMBERS[cores]} cores" if 1 < cores < len(NUMBERS) else f"{cores} core(s)"
    served = found["orders_per_second"]
    serves = f"{served} orders/s" if served else f"under {found['lowest_failed']} orders/s"
    return [
        f"On {on}, the mesh serves {serves} within its objective ({OBJECTIVE}), every order"
        f" traced; flat out, {found['flat_out_ok_per_second']:.0f} orders/s.",
        "",
    ]


def lines(doc: Mapping[str, Any]) -> list[str]:
    """Each searched row: its capacity beside its flat out, then the rates it held."""
    if not doc["capacity"]:
        return []
    search = doc["plan"]["capacity"]
    found = [
        f"capacity within the objective ({OBJECTIVE}; each rate held"
        f" {search['warmup_seconds']:g} s, then measured {search['seconds']:g} s):"
    ]
    for name, capacity in doc["capacity"].items():
        served, failed = capacity["orders_per_second"], capacity["lowest_failed"]
        flat_out = capacity["flat_out_ok_per_second"]
        if served is None:
            outcome = f"{'none':>5}    flat out {flat_out:.0f}/s; missed at every rate held"
        else:
            share = f" ({served / flat_out:.0%} of it)" if flat_out else ""
            if failed is None:
                missed = "; out of steps before a rate missed"
            else:
                unsettled = "" if capacity["narrowed"] else ", not narrowed: out of steps"
                missed = f"; missed at {failed}/s{unsettled}"
            outcome = f"{served:>5}/s  flat out {flat_out:.0f}/s{share}{missed}"
        steps = "; ".join(f"{s['offered']}/s {s['missed'] or 'ok'}" for s in capacity["steps"])
        found += [
            f"  {name:<22}{outcome} ({len(capacity['steps'])} steps, {capacity['seconds']:.0f} s)",
            f"  {'':<22}held: {steps}",
        ]
    return found


def malformed(doc: Mapping[str, Any]) -> list[str]:
    """Steps in which no call was counted or none succeeded (the mesh is gone: an overloaded one
    still answers some), or whose figures are not finite."""
    found = []
    for name, capacity in doc["capacity"].items():
        for step in capacity["steps"]:
            result = step["result"]
            if not result["count"]:
                found.append(f"{name}, capacity at {step['offered']}/s: no calls counted")
            elif not result["ok"]:
                found.append(f"{name}, capacity at {step['offered']}/s: no call succeeded")
            if not math.isfinite(result["p95_ms"]):
                found.append(f"{name}, capacity at {step['offered']}/s: p95 is {result['p95_ms']}")
    return found
