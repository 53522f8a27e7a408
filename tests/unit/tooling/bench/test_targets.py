"""Issue 24's targets come from ratios within one run: PostgreSQL and the cluster against the
SQLite mesh, the hot account against the spread workload, retries per 100 orders; each printed
where its rows were measured, never asserted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from tooling.bench import plan as plans
from tooling.bench import report
from tooling.bench.capacity import Capacity, Step
from tooling.bench.ghz import Result
from tooling.bench.memory import Resident
from tooling.bench.production import retries_per_hundred, targets
from tooling.bench.rows import (
    CLUSTER,
    HOT_CLUSTER,
    HOT_POSTGRES,
    HOT_SQLITE,
    POSTGRES,
    TRACING_ON,
)
from tooling.bench.scenario import Measurement
from tooling.bench.workload import HOT, spread

MACHINE = {"nproc": 2, "cpu_model": "test CPU"}


def result(ok_per_second: float, seconds: float = 10.0) -> Result:
    ok = int(ok_per_second * seconds)
    return Result(ok, ok, ok_per_second, seconds, 20.0, 18.0, 40.0, 60.0)


def measured(
    ok_per_second: float,
    cpu_ms: float,
    database: str = "sqlite",
    retries: float | None = None,
    hot: bool = False,
    aborts: int | None = None,
) -> Measurement:
    run = result(ok_per_second)
    memory = {"gateway": Resident(60.0, 70.0)}
    return Measurement(
        name="",
        warmup=run,
        light=run,
        saturation=run,
        fixed_rate=run,
        cpu_ms_per_order={"gateway": cpu_ms / 2, "orders": cpu_ms / 2},
        settle_seconds=1.0,
        memory_idle=memory,
        memory=memory,
        memory_idle_together_mb=60.0,
        memory_together_mb=60.0,
        workload=(HOT if hot else spread(1000)).name,
        database=database,
        retries=retries,
        aborts_logged=aborts,
    )


def by_name(found: Mapping[str, Measurement]) -> dict[str, tuple[float | None, bool | None]]:
    return {t.name: (t.value, t.met) for t in targets(found)}


RUN = {
    TRACING_ON: measured(100.0, 20.0),
    POSTGRES: measured(80.0, 25.0, "postgres", retries=0.0),
    CLUSTER: measured(40.0, 50.0, "postgres", retries=8.0),
    HOT_SQLITE: measured(60.0, 22.0, hot=True),
    HOT_POSTGRES: measured(30.0, 30.0, "postgres", retries=40.0, hot=True, aborts=60),
    HOT_CLUSTER: measured(10.0, 90.0, "postgres", retries=None, hot=True),
}


def test_postgres_and_the_cluster_are_compared_with_the_single_sqlite_mesh() -> None:
    found = by_name(RUN)

    assert found["postgres / sqlite, flat out"] == (0.8, True)
    assert found["cluster / single, flat out"] == (0.4, False)
    assert found["cluster / single, CPU per order"] == (2.5, False)


def test_each_hot_account_row_is_compared_with_its_spread_twin() -> None:
    found = by_name(RUN)

    assert found[f"{HOT_SQLITE} / spread, flat out"] == (0.6, True)
    assert found[f"{HOT_POSTGRES} / spread, flat out"] == (0.375, False)
    assert found[f"{HOT_CLUSTER} / spread, flat out"] == (0.25, False)


def test_retries_are_counted_per_hundred_orders_of_all_the_rows_load() -> None:
    orders = RUN[HOT_POSTGRES].orders  # warm-up, light, saturation and fixed rate: 4 x 300

    found = by_name(RUN)

    assert orders == 1200
    assert found[f"{HOT_POSTGRES}, retries/100 orders"] == (100 * 40.0 / 1200, False)


def test_retries_are_counted_per_hundred_orders_of_the_capacity_search_too() -> None:
    held = Step(50, 10.0, result(50.0), warmup=result(50.0))
    searched = replace(RUN[POSTGRES], retries=17.0, capacity=Capacity(result(80.0), (held,), 30.0))

    assert searched.orders == 4 * 800 + 2 * 500
    assert retries_per_hundred(searched) == 100 * 17.0 / 4200


def test_retries_nobody_exported_are_not_measured_rather_than_zero() -> None:
    assert by_name(RUN)[f"{HOT_CLUSTER}, retries/100 orders"] == (None, None)


def test_sqlite_has_no_retry_target() -> None:
    assert not any(name.startswith(HOT_SQLITE) and "retries" in name for name in by_name(RUN))


def test_only_the_targets_whose_rows_were_measured_are_listed() -> None:
    found = by_name({TRACING_ON: RUN[TRACING_ON], POSTGRES: RUN[POSTGRES]})

    assert list(found) == ["postgres / sqlite, flat out"]


def test_the_table_prints_issue_24s_targets_and_the_retries_column() -> None:
    doc = report.document(RUN, plans.quick(), MACHINE, quick=False)

    text = report.table(doc)

    assert "targets of issue 24 (ratios within this run):" in text
    assert "targets of issue 17" not in text  # no sampler-off or bare-chain rows measured
    lines = text.splitlines()
    assert any(
        line.startswith("target  postgres / sqlite, flat out")
        and "0.80 x" in line
        and line.endswith("met")
        for line in lines
    )
    hot_cluster_retries = next(line for line in lines if f"{HOT_CLUSTER}, retries" in line)
    assert "n/a" in hot_cluster_retries
    assert hot_cluster_retries.endswith("not measured")
    row = next(line for line in lines if line.startswith(HOT_POSTGRES))
    assert row.split()[-1] == "3.33"  # 40 retries over 1,200 orders
    assert next(line for line in lines if line.startswith(TRACING_ON)).split()[-1] == "-"
    assert f"orders {HOT.name}: {HOT_SQLITE}, {HOT_POSTGRES}, {HOT_CLUSTER}" in lines
    aborted = next(line for line in lines if line.startswith("PostgreSQL's log"))
    expected = f"{POSTGRES} n/a, {CLUSTER} n/a, {HOT_POSTGRES} 5.00, {HOT_CLUSTER} n/a"
    assert aborted.endswith(expected)


def test_the_report_stays_plain_json_with_unknown_retries() -> None:
    doc = report.document(RUN, plans.quick(), MACHINE, quick=False)

    assert report.malformed(doc) == []
    assert doc["configurations"][HOT_CLUSTER]["retries_per_100_orders"] is None
