"""Orders survive outages: NATS down while they are placed, the market crashing with orders open."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.data.customer import FINAL, PENDING, Customer
from tests.support.data.settle import settle
from tests.support.servers.mesh import Mesh, MeshOptions, run_mesh
from tooling.harness.snapshot import Row, take_snapshot

pytestmark = pytest.mark.integration

# Executions wait a second, so a crash can catch orders booked on the exchange but not yet done.
EXECUTION_DELAY_SECONDS = 1.0
# Long enough for a relay backing off while NATS was away to try again.
RECOVERY_SECONDS = 20.0


@pytest.fixture
def mesh(tmp_path: Path, database_urls: dict[str, str]) -> Iterator[Mesh]:
    """A mesh of its own for each test: they stop and crash its parts."""
    options = MeshOptions(
        halted_symbols="GOOG",
        execution_delay_seconds=EXECUTION_DELAY_SECONDS,
        database_urls=database_urls,
    )
    with run_mesh(tmp_path, options) as running:
        yield running


def sell_a_few(alice: Customer, bob: Customer) -> list[tuple[Customer, str]]:
    """Two orders to fill and one the market rejects (GOOG is halted)."""
    placed = [
        (alice, alice.sell("AAPL", 2)),
        (alice, alice.sell("MSFT", 1)),
        (bob, bob.sell("GOOG", 1)),
    ]
    assert [order.status for _, order in placed] == [PENDING] * len(placed)
    return [(customer, order.order_id) for customer, order in placed]


def test_orders_placed_while_nats_is_down_are_accepted_and_settle_once_it_is_back(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    mesh.nats.stop()
    mesh.restart("orders")  # and orders starts without NATS: it must connect when NATS is back

    placed = sell_a_few(alice, bob)
    while_down = take_snapshot(mesh.databases)
    mesh.nats.start()

    # Accepted and kept: the events wait in orders' outbox, not in a lost publish.
    assert len(while_down.rows("orders", "outbox")) == len(placed)
    assert {row["status"] for row in while_down.rows("orders", "orders")} == {"PENDING"}
    for customer, order_id in placed:
        customer.wait_for_status(order_id, FINAL, RECOVERY_SECONDS)


def test_every_accepted_order_settles_though_the_market_crashed_mid_flow(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    placed = sell_a_few(alice, bob)
    order_ids = {order_id for _, order_id in placed}
    book = wait_until_booked(mesh, order_ids)

    mesh.kill("market")
    mesh.start("market")

    assert {row["order_id"]: row["state"] for row in book} == dict.fromkeys(order_ids, "OPEN")
    for customer, order_id in placed:
        customer.wait_for_status(order_id, FINAL, RECOVERY_SECONDS)
    settle(mesh)


def wait_until_booked(mesh: Mesh, order_ids: set[str], timeout: float = 5.0) -> list[Row]:
    """The market's book rows of these orders, once all of them are on it."""
    deadline = time.monotonic() + timeout
    while True:
        book = [
            row
            for row in take_snapshot(mesh.databases).rows("market", "book")
            if row["order_id"] in order_ids
        ]
        if len(book) == len(order_ids):
            return book
        assert time.monotonic() < deadline, f"market booked only {book} in {timeout}s"
        time.sleep(0.02)
