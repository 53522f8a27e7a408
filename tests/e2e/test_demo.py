"""`make demo` against a running mesh: three orders settle, each with its trace id and link."""

from __future__ import annotations

import re

import pytest

from tests.e2e.commands import python
from tests.e2e.launcher import LaunchedMesh

pytestmark = pytest.mark.e2e

OUTCOME = re.compile(r"^(\w+) sells (\d+) (\w+): (FILLED|REJECTED|\w+)(.*)$", re.MULTILINE)
TRACE = re.compile(r"^  trace  (\S+)$", re.MULTILINE)


def test_the_demo_settles_two_fills_and_a_halted_rejection_with_their_traces(
    mesh: LaunchedMesh,
) -> None:
    jaeger_query_addr = mesh.jaeger_url.removeprefix("http://")
    env = {"GATEWAY_ADDR": mesh.gateway, "JAEGER_QUERY_ADDR": jaeger_query_addr}

    demo = python("tooling/cli/demo.py", env=env)

    assert demo.returncode == 0, demo.output
    outcomes = OUTCOME.findall(demo.output)
    statuses = sorted((symbol, status) for _, _, symbol, status, _ in outcomes)
    assert statuses == [("AAPL", "FILLED"), ("GOOG", "REJECTED"), ("MSFT", "FILLED")], demo.output
    rejection = next(rest for _, _, _, status, rest in outcomes if status == "REJECTED")
    assert "SYMBOL_HALTED" in rejection, demo.output
    trace_ids = TRACE.findall(demo.output)
    assert len(set(trace_ids)) == 3, demo.output
    for trace_id in trace_ids:
        assert re.fullmatch(r"[0-9a-f]{32}", trace_id), trace_id
        assert f"{mesh.jaeger_url}/trace/{trace_id}" in demo.output
        assert f"make trace ID={trace_id}" in demo.output
