"""Logs under the real `make run`: one order's lines from gateway, orders and market, found by its
trace id with `make logs TRACE=`, in time order, and shown by the log store's UI in a browser;
the log store stopped, orders still flow, and started again, new lines arrive; bad input and a
store that is down get one line each."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator

import pytest

from mesh.topology import NAMES
from tests.e2e.commands import Ran, python, run
from tests.e2e.launcher import LaunchedMesh, launched_mesh
from tests.e2e.test_trace import sell_with_grpcurl
from tests.support.data.customer import FILLED, Customer
from tests.support.data.log_lines import file_problems
from tests.support.servers.processes import start_process, stop_process, wait_for_http
from tests.support.tools.browser import RESULTS, render
from tooling.cli.log_store import build_query, fetch, ui_url
from tooling.launcher import parts_logs

pytestmark = pytest.mark.e2e

AT_LEAST = {"gateway", "orders", "market"}
LINE = re.compile(
    r"^(\d\d:\d\d:\d\d\.\d{3})Z \w+\s+(\w+)\s+.*"
    r"  trace_id=([0-9a-f]{32}) span_id=[0-9a-f]{16}$"
)
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """A mesh of its own: this module stops its log store."""
    with launched_mesh(tmp_path_factory.mktemp("logs")) as running:
        yield running


def store_url(mesh: LaunchedMesh) -> str:
    assert mesh.ready.log_store is not None, "this mesh runs without its log store"
    return mesh.ready.log_store.address


MAKES_OWN_LINE = re.compile(r"^make(\[\d+\])?: \*\*\*")


def make_logs(mesh: LaunchedMesh, *args: str) -> Ran:
    """`make logs ...` as typed, pointed at this mesh's store."""
    addr = store_url(mesh).removeprefix("http://")
    return run(["make", "--no-print-directory", "logs", *args], {"VICTORIALOGS_ADDR": addr})


def wait_for_lines_of(mesh: LaunchedMesh, trace_id: str) -> None:
    """Until the store has lines of gateway, orders and market for the trace (batches lag)."""
    waited = python(
        "tooling/cli/logs.py",
        *("--store", store_url(mesh), "--trace", trace_id),
        *("--wait", str(WAIT_SECONDS), "--services", str(len(AT_LEAST))),
    )
    assert waited.returncode == 0, waited.output


def test_make_logs_trace_prints_gateway_orders_and_market_lines_of_one_order_in_time_order(
    mesh: LaunchedMesh,
) -> None:
    trace_id = sell_with_grpcurl(mesh, "alice", "AAPL", 1)
    wait_for_lines_of(mesh, trace_id)

    printed = make_logs(mesh, f"TRACE={trace_id}")

    assert printed.returncode == 0, printed.output
    header, *rows, link = printed.output.splitlines()
    assert header.startswith(f"trace {trace_id}: "), printed.output
    assert link.startswith("in the browser: "), printed.output
    matched = [LINE.match(row) for row in rows]
    assert all(matched), printed.output
    found = [match.groups() for match in matched if match]
    assert {trace for _, _, trace in found} == {trace_id}, printed.output
    assert {service for _, service, _ in found} >= AT_LEAST, printed.output
    times = [time for time, _, _ in found]
    assert times == sorted(times), printed.output


def test_the_log_store_ui_shows_one_orders_lines_from_each_service_in_a_real_browser(
    mesh: LaunchedMesh,
) -> None:
    trace_id = sell_with_grpcurl(mesh, "alice", "MSFT", 1)
    wait_for_lines_of(mesh, trace_id)
    stored = fetch(store_url(mesh), build_query(trace_id=trace_id))

    dom, _ = render(ui_url(store_url(mesh), build_query(trace_id=trace_id)), RESULTS / "vmui.png")

    assert dom.count(trace_id) >= 1 + len(stored), dom[-2000:]
    for service in AT_LEAST:
        assert f'"service.name": "{service}"' in dom
    for line in stored:
        assert f'"_msg": "{line.message}"' in dom


def test_make_logs_says_a_nonsense_trace_id_is_not_one(mesh: LaunchedMesh) -> None:
    printed = make_logs(mesh, "TRACE=nonsense")

    assert printed.returncode != 0
    assert "make logs: 'nonsense' is not a trace id (32 hex digits)" in printed.output


def test_with_the_store_stopped_orders_flow_make_logs_says_so_and_once_back_lines_arrive(
    mesh: LaunchedMesh, tmp_path_factory: pytest.TempPathFactory
) -> None:
    addr = store_url(mesh).removeprefix("http://")
    os.killpg(mesh.pids["victorialogs"], signal.SIGKILL)
    wait_until_gone(mesh, "victorialogs")

    with mesh.customer("alice-token", "acc-alice") as alice:
        orders = [alice.sell("AAPL", 1, request_id=f"e2e-logs-away-{n}") for n in range(5)]
        assert_all_filled(alice, [order.order_id for order in orders])
    down = make_logs(mesh)

    assert down.returncode != 0
    # Less make's own report of the failure (`make[1]: ***` when run under `make test`).
    said = [line for line in down.output.splitlines() if not MAKES_OWN_LINE.match(line)]
    assert said == [
        f"make logs: log store at {store_url(mesh)} is not answering ([Errno 111] Connection "
        "refused): is `make run` running?"
    ], down.output

    # Started again on its address and data, as `make run` starts it: new lines arrive.
    data_dir = mesh.ready.data_dir
    log_path = tmp_path_factory.mktemp("store-again") / "victorialogs.log"
    store = start_process(parts_logs.victorialogs_command(data_dir, addr), {}, log_path)
    try:
        wait_for_http(parts_logs.victorialogs_ready_url(addr), 30, store)
        trace_id = sell_with_grpcurl(mesh, "alice", "MSFT", 1)
        wait_for_lines_of(mesh, trace_id)
        printed = make_logs(mesh, f"TRACE={trace_id}")
    finally:
        stop_process(store)

    assert printed.returncode == 0, printed.output
    assert f"trace {trace_id}: " in printed.output


def test_every_line_the_services_wrote_follows_the_log_schema(mesh: LaunchedMesh) -> None:
    problems = [
        problem
        for name in NAMES
        for problem in file_problems(mesh.ready.log_dir / f"{name}.log", name)
    ]

    assert not problems, "\n".join(problems[:20])
    assert all((mesh.ready.log_dir / f"{name}.log").stat().st_size for name in NAMES)


def wait_until_gone(mesh: LaunchedMesh, name: str) -> None:
    deadline = time.monotonic() + 5
    while name in mesh.running():
        assert time.monotonic() < deadline, f"{name} did not die"
        time.sleep(0.05)


def assert_all_filled(alice: Customer, order_ids: list[str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        statuses = {o.order_id: o.status for o in alice.orders() if o.order_id in order_ids}
        if len(statuses) == len(order_ids) and all(s == FILLED for s in statuses.values()):
            return
        assert time.monotonic() < deadline, f"not all FILLED with the store away: {statuses}"
        time.sleep(0.1)
