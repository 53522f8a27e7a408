"""Which rows a bench run measures: the full run every shape, spread and hot; the quick run the
single-process ones; --only exactly those named."""

from __future__ import annotations

import pytest

from tooling.bench import plan as plans
from tooling.bench.__main__ import CONFIGURATIONS, chosen, parse_args, searches


def rows(*argv: str) -> list[str]:
    args = parse_args(list(argv))
    plan = plans.quick() if args.quick else plans.full(args.rate, args.duration, args.concurrency)
    if not args.no_tracing_run:
        plan = plans.Plan(**{**plan.__dict__, "no_tracing": False})
    return chosen(args, plan)


def test_the_full_run_measures_every_configuration_and_the_bare_chain_last() -> None:
    found = rows()

    assert sorted(found) == sorted(CONFIGURATIONS)
    assert found[-1] == "baseline"


def test_the_quick_run_leaves_postgres_the_cluster_and_the_hot_account_out() -> None:
    found = rows("--quick")

    assert "tracing-on" in found
    assert "baseline" in found
    assert not {"postgres", "cluster", "hot-sqlite", "hot-postgres", "hot-cluster"} & set(found)


def test_no_cluster_leaves_both_cluster_rows_out() -> None:
    found = rows("--no-cluster")

    assert {"postgres", "hot-postgres", "hot-sqlite"} <= set(found)
    assert not {"cluster", "hot-cluster"} & set(found)


def test_only_measures_the_named_configurations_in_the_order_given() -> None:
    assert rows("--only", "postgres, hot-postgres") == ["postgres", "hot-postgres"]


def test_only_refuses_a_name_it_does_not_know(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        rows("--only", "postgres,hot")

    assert "unknown configuration 'hot';" in " ".join(capsys.readouterr().err.split())


def test_only_refuses_a_configuration_named_twice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        rows("--only", "postgres,cluster,postgres")

    assert "named twice" in capsys.readouterr().err


def test_capacity_only_keeps_the_configurations_that_search_their_capacity() -> None:
    assert rows("--capacity-only") == ["tracing-on", "sampler-off", "postgres", "cluster"]
    assert rows("--capacity-only", "--only", "baseline,postgres,hot-postgres") == ["postgres"]


def test_the_quick_run_searches_the_default_shapes_capacity_only() -> None:
    args = parse_args(["--quick"])

    assert [name for name in CONFIGURATIONS if searches(args, name)] == ["tracing-on"]
    assert rows("--quick", "--capacity-only") == ["tracing-on"]
