"""Jaeger stopped mid-run: orders are still placed and settle at the same pace; spans are dropped,
orders are not."""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections.abc import Iterator

import pytest

from tests.e2e.launcher import LaunchedMesh, launched_mesh
from tests.support.data.customer import FILLED, Customer, status_name
from tests.support.polling import poll

pytestmark = pytest.mark.e2e

ORDERS_EACH_SIDE = 10
SETTLE_SECONDS = 20.0
POLL_SECONDS = 0.05


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """A mesh of its own: this module stops its Jaeger."""
    with launched_mesh(tmp_path_factory.mktemp("jaeger-down")) as running:
        yield running


def seconds_until_filled(alice: Customer, label: str) -> list[float]:
    """Sell 1 AAPL ORDERS_EACH_SIDE times, then watch ListOrders until every order is FILLED;
    for each, the time from PlaceSellOrder's answer to the first ListOrders showing FILLED."""
    placed = {}
    for n in range(ORDERS_EACH_SIDE):
        order = alice.sell("AAPL", 1, request_id=f"e2e-jaeger-down-{label}-{n}")
        placed[order.order_id] = time.monotonic()
    filled: dict[str, float] = {}
    last_seen: dict[str, str] = {}

    def watch() -> dict[str, float]:
        now = time.monotonic()
        for order in alice.orders():
            if order.order_id in placed:
                last_seen[order.order_id] = status_name(order.status)
                if order.status == FILLED:
                    filled.setdefault(order.order_id, now)
        return filled

    poll(
        watch,
        lambda seen: len(seen) == len(placed),
        SETTLE_SECONDS,
        f"{label}: every order FILLED",
        POLL_SECONDS,
        or_last=True,
    )
    unsettled = {oid: last_seen.get(oid, "not listed") for oid in placed if oid not in filled}
    assert not unsettled, f"{label}: not FILLED after {SETTLE_SECONDS}s: {unsettled}"
    return [filled[order_id] - placed[order_id] for order_id in placed]


def stop_jaeger(mesh: LaunchedMesh) -> None:
    """SIGKILL, as a crash: Jaeger gets no chance to say goodbye to the exporters."""
    os.killpg(mesh.pids["jaeger"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while "jaeger" in mesh.running():
        assert time.monotonic() < deadline, "Jaeger did not die"
        time.sleep(POLL_SECONDS)
    # Let a batch or two of spans meet the closed port (exporters flush every 0.5 s), and the
    # launcher notice the exit (it looks every 0.5 s).
    time.sleep(1.0)
    for service in mesh.services:
        health = mesh.grpcurl(service, "grpc.health.v1.Health/Check")
        assert '"SERVING"' in health.output, (
            f"{service} is not SERVING with Jaeger gone: {health.output}\n"
            f"make run says:\n{mesh.said(lines=4)}"
        )


def test_orders_settle_at_the_same_pace_with_jaeger_stopped(
    mesh: LaunchedMesh, capsys: pytest.CaptureFixture[str]
) -> None:
    with mesh.customer("alice-token", "acc-alice") as alice:
        with_jaeger = seconds_until_filled(alice, "before")
        stop_jaeger(mesh)
        without_jaeger = seconds_until_filled(alice, "after")

    with capsys.disabled():  # in the run log even when the test passes: "the same pace"
        print(
            f"\nmedian time to FILLED over {ORDERS_EACH_SIDE} orders each: "
            f"{statistics.median(with_jaeger) * 1000:.0f} ms with Jaeger, "
            f"{statistics.median(without_jaeger) * 1000:.0f} ms with Jaeger stopped"
        )
    assert len(with_jaeger) == len(without_jaeger) == ORDERS_EACH_SIDE
