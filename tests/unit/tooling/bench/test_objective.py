"""The capacity within the objective in the report: the headline sentence, each searched row
beside its flat out with the rates it held, and issue 26's target, 80 orders/s on two cores or
7% of the bare chain's flat out in the same run."""

from __future__ import annotations

from collections.abc import Mapping

from tooling.bench import plan as plans
from tooling.bench import report
from tooling.bench.capacity import Capacity, Step
from tooling.bench.ghz import Result
from tooling.bench.objective import targets
from tooling.bench.rows import POSTGRES, TRACING_ON

MACHINE = {"nproc": 2, "cpu_model": "test CPU"}
SECONDS = 8.0


def held(offered: int, p95_ms: float) -> Step:
    count = int(offered * SECONDS)
    return Step(offered, SECONDS, Result(count, count, offered, SECONDS, 30.0, 25.0, p95_ms, 200.0))


def searched(*steps: Step, flat_out: float = 100.0) -> Capacity:
    run = Result(int(flat_out * 20), int(flat_out * 20), flat_out, 20.0, 300.0, 280.0, 500.0, 700.0)
    return Capacity(run, steps, 60.0)


# Passed at 60/s and 66/s, missed at 75/s and 68/s: 66 orders/s within the objective.
TRACING_ON_SEARCH = searched(held(60, 50.0), held(75, 300.0), held(66, 90.0), held(68, 140.0))


def by_name(capacities: Mapping[str, Capacity], bare: float | None) -> dict[str, object]:
    return {t.name: (t.value, t.met) for t in targets(capacities, bare)}


def test_the_capacity_is_the_highest_rate_held_within_the_objective() -> None:
    assert TRACING_ON_SEARCH.rate == 66
    assert TRACING_ON_SEARCH.lowest_failed == 68


def test_the_target_is_80_orders_a_second_or_7_percent_of_the_bare_chains_flat_out() -> None:
    found = by_name({TRACING_ON: TRACING_ON_SEARCH}, bare=600.0)

    assert found == {
        "capacity within the objective, tracing on": (66.0, False),
        "or: that capacity / bare chain's flat out": (11.0, True),
    }


def test_without_the_bare_chain_its_share_is_not_measured() -> None:
    found = by_name({TRACING_ON: TRACING_ON_SEARCH}, bare=None)

    assert found["or: that capacity / bare chain's flat out"] == (None, None)


def test_a_mesh_that_missed_the_objective_at_every_rate_serves_nothing_within_it() -> None:
    missed = searched(held(60, 300.0), held(42, 150.0))

    found = by_name({TRACING_ON: missed}, bare=600.0)

    assert found["capacity within the objective, tracing on"] == (0.0, False)


def test_tracing_may_cost_at_most_12_percent_of_the_throughput() -> None:
    cheap = targets({}, None, tracing_cost_percent=11.5)
    dear = targets({TRACING_ON: TRACING_ON_SEARCH}, 600.0, tracing_cost_percent=24.4)

    assert [(t.name, t.met, t.issue) for t in cheap] == [("throughput tracing costs", True, 26)]
    assert {t.name: t.met for t in dear}["throughput tracing costs"] is False


def test_only_the_default_shape_has_the_target() -> None:
    assert by_name({POSTGRES: TRACING_ON_SEARCH}, bare=600.0) == {}


def test_the_report_leads_with_what_the_mesh_serves_within_its_objective() -> None:
    searches = {TRACING_ON: TRACING_ON_SEARCH, POSTGRES: searched(held(40, 60.0), held(50, 120.0))}
    doc = report.document({}, plans.quick(), MACHINE, quick=False, searched=searches)

    lines = report.table(doc).splitlines()

    assert lines[2] == (
        "On two cores, the mesh serves 66 orders/s within its objective (p95 <= 100 ms,"
        " no errors), every order traced; flat out, 100 orders/s."
    )
    row = next(line for line in lines if line.lstrip().startswith(TRACING_ON))
    assert row.split()[2:9] == ["66/s", "flat", "out", "100/s", "(66%", "of", "it);"]
    assert "missed at 68/s (4 steps, 60 s)" in row
    rates = lines[lines.index(row) + 1].split("held: ")[1]
    assert rates == "60/s ok; 75/s p95 300 ms; 66/s ok; 68/s p95 140 ms"
    postgres = next(line for line in lines if line.lstrip().startswith(POSTGRES))
    assert "40/s  flat out 100/s (40% of it); missed at 50/s, not narrowed" in postgres
    assert "target  capacity within the objective, tracing on       66.0 /s" in lines[-2]
    assert report.malformed(doc) == []


def test_a_step_in_which_no_call_was_counted_makes_the_report_malformed() -> None:
    empty = Step(60, SECONDS, Result(0, 0, 0.0, SECONDS, 0.0, 0.0, 0.0, 0.0))
    searches = {TRACING_ON: searched(empty)}
    doc = report.document({}, plans.quick(), MACHINE, quick=False, searched=searches)

    assert report.malformed(doc) == ["tracing on, capacity at 60/s: no calls counted"]


def test_a_step_in_which_every_call_failed_makes_the_report_malformed() -> None:
    refused = Step(60, SECONDS, Result(480, 0, 60.0, SECONDS, 0.1, 0.1, 0.2, 0.3))
    searches = {TRACING_ON: searched(held(40, 60.0), refused)}
    doc = report.document({}, plans.quick(), MACHINE, quick=False, searched=searches)

    assert report.malformed(doc) == ["tracing on, capacity at 60/s: no call succeeded"]
