"""Issue 24's comparisons and targets: the production shape (PostgreSQL, the cluster) and the hot
account, each against the single-process SQLite mesh of the same run (ratios within one run, so
a busy machine slows both sides alike)."""

from __future__ import annotations

from collections.abc import Mapping

from tooling.bench import retries
from tooling.bench.rows import CLUSTER, HOT_OF, POSTGRES, TRACING_ON
from tooling.bench.scenario import Measurement
from tooling.bench.target import Target

ISSUE = 24


def flat_out(m: Measurement) -> float:
    """Orders accepted a second in the saturation run."""
    return m.saturation.ok_rps


def cpu_per_order(m: Measurement) -> float:
    return sum(m.cpu_ms_per_order.values())


def retries_per_hundred(m: Measurement) -> float | None:
    """Serialization retries per 100 orders over all of the configuration's load."""
    return retries.per_hundred(m.retries, m.orders)


def comparisons(measured: Mapping[str, Measurement]) -> dict[str, float]:
    single, postgres, cluster = (measured.get(n) for n in (TRACING_ON, POSTGRES, CLUSTER))
    found: dict[str, float] = {}
    if single and postgres:
        found["postgres_over_sqlite_throughput"] = _ratio(flat_out(postgres), flat_out(single))
        found["postgres_over_sqlite_cpu_per_order"] = _ratio(
            cpu_per_order(postgres), cpu_per_order(single)
        )
    if single and cluster:
        found["cluster_over_single_throughput"] = _ratio(flat_out(cluster), flat_out(single))
        found["cluster_over_single_cpu_per_order"] = _ratio(
            cpu_per_order(cluster), cpu_per_order(single)
        )
    if postgres and cluster:
        found["cluster_over_postgres_throughput"] = _ratio(flat_out(cluster), flat_out(postgres))
        found["cluster_over_postgres_cpu_per_order"] = _ratio(
            cpu_per_order(cluster), cpu_per_order(postgres)
        )
    for hot, spread in HOT_OF.items():
        if hot in measured and spread in measured:
            found[f"hot_over_spread_throughput_{_backend(hot)}"] = _ratio(
                flat_out(measured[hot]), flat_out(measured[spread])
            )
    return found


def targets(measured: Mapping[str, Measurement]) -> list[Target]:
    """The targets of issue 24 whose configurations this run measured."""
    found = comparisons(measured)
    listed: list[Target] = []
    if "postgres_over_sqlite_throughput" in found:
        listed.append(
            _reach("postgres / sqlite, flat out", found["postgres_over_sqlite_throughput"], 0.7)
        )
    if "cluster_over_single_throughput" in found:
        listed += [
            _reach("cluster / single, flat out", found["cluster_over_single_throughput"], 0.5),
            Target(
                "cluster / single, CPU per order",
                found["cluster_over_single_cpu_per_order"],
                2.0,
                "x",
                issue=ISSUE,
            ),
        ]
    for hot in HOT_OF:
        if hot not in measured:
            continue
        if measured[hot].database == "postgres":
            per_hundred = retries_per_hundred(measured[hot])
            listed.append(Target(f"{hot}, retries/100 orders", per_hundred, 1.0, "", issue=ISSUE))
        key = f"hot_over_spread_throughput_{_backend(hot)}"
        if key in found:
            listed.append(_reach(f"{hot} / spread, flat out", found[key], 0.5))
    return listed


def _reach(name: str, value: float, limit: float) -> Target:
    return Target(name, value, limit, "x", at_most=False, issue=ISSUE)


def _backend(hot: str) -> str:
    """hot account, postgres -> postgres"""
    return hot.rpartition(", ")[2]


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0
