"""The idle measurement counts each process of the mesh once: a process with its own children
(PostgreSQL's backends), the launcher without the mesh it started."""

from __future__ import annotations

import pytest

from tooling.bench import cpu
from tooling.bench.idle import IdleResult, measure, own_trees

# launcher 10 started a service (11) and PostgreSQL (12), whose backends are 13 and 14.
CHILDREN = {1: [10], 10: [11, 12], 12: [13, 14]}
PIDS = {"launcher": 10, "orders": 11, "postgres": 12}


def test_each_process_is_counted_with_its_own_children_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpu, "children_of_all", lambda: CHILDREN)

    assert own_trees(PIDS) == {"launcher": [10], "orders": [11], "postgres": [12, 13, 14]}


def test_the_cpu_used_is_what_each_tree_used_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu, "children_of_all", lambda: CHILDREN)
    readings = {10: 1.0, 11: 2.0, 12: 3.0, 13: 0.5, 14: 0.0}
    monkeypatch.setattr(cpu, "cpu_seconds", lambda pid: readings[pid])
    later = {10: 1.1, 11: 2.5, 12: 3.0, 13: 0.75, 14: 0.25}

    used = measure(PIDS, 10.0, sleep=lambda _seconds: readings.update(later))

    assert used == pytest.approx({"launcher": 0.1, "orders": 0.5, "postgres": 0.5})


def test_the_result_reads_as_a_share_of_one_core_busiest_first() -> None:
    result = IdleResult("cluster", 60.0, {"nats": 0.3, "orders": 0.9}, processes=3)

    assert result.total_percent == pytest.approx(2.0)
    lines = result.lines()
    assert lines[0] == "cluster: idle for 60 s, 3 processes: 2.00% of one core"
    assert [line.split()[0] for line in lines[1:]] == ["orders", "nats"]
