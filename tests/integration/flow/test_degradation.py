"""Graceful degradation, row by row of docs/resilience.md's table: with one part down, what
still works, what fails fast, and that everything accepted settles once the part is back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.data.customer import FILLED, PENDING, Customer
from tests.support.servers.mesh import Mesh, MeshOptions, run_mesh

pytestmark = pytest.mark.integration

SETTLE_SECONDS = 20.0
# Calls that may wait out a deadline before the gateway's or orders' circuit opens.
CALLS_TO_OPEN = 8
RESERVE = "/simplebank.accounts.v1.AccountService/ReserveHoldings"
SLOW_MS = 700  # under the 1 s timeout of orders' calls to accounts
SLOW_RESERVE = json.dumps([{"target": RESERVE, "delay_ms": SLOW_MS, "percent": 100}])
SLOW_ACCOUNTS = {"accounts": {"OPS_FAULTS_ENABLED": "true", "OPS_FAULTS": SLOW_RESERVE}}
WAITED_OUT = "DEADLINE_EXCEEDED DEADLINE_EXCEEDED"


@pytest.fixture
def mesh(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Mesh]:
    """A mesh of its own for each test: they stop its parts. A test parametrizes it (indirect)
    with extra variables per service, such as faults set at start."""
    options = MeshOptions(halted_symbols="GOOG", service_env=getattr(request, "param", {}))
    with run_mesh(tmp_path, options) as running:
        yield running


def until_circuit_open(alice: Customer) -> list[str]:
    """Sell until the answer is CIRCUIT_OPEN (or CALLS_TO_OPEN calls); every answer."""
    seen = [alice.try_sell("AAPL", 1)]
    while seen[-1] != "UNAVAILABLE CIRCUIT_OPEN" and len(seen) < CALLS_TO_OPEN:
        seen.append(alice.try_sell("AAPL", 1))
    return seen


def test_market_down_orders_are_accepted_validated_from_the_cache_and_fill_when_it_returns(
    mesh: Mesh, alice: Customer
) -> None:
    alice.wait_for_status(alice.sell("AAPL", 1).order_id, {FILLED}, SETTLE_SECONDS)  # fills cache
    mesh.stop("market")

    accepted = alice.sell("MSFT", 2)
    unknown = alice.try_sell("ZZZZ", 1)
    mesh.start("market")

    assert accepted.status == PENDING
    assert unknown == "INVALID_ARGUMENT"
    alice.wait_for_status(accepted.order_id, {FILLED}, SETTLE_SECONDS)


def test_fees_down_orders_fill_and_the_fee_is_charged_once_it_returns(
    mesh: Mesh, alice: Customer
) -> None:
    mesh.stop("fees")

    order = alice.wait_for_status(alice.sell("AAPL", 3).order_id, {FILLED}, SETTLE_SECONDS)
    mesh.start("fees")

    assert order.fee.minor_units == 0  # not charged yet; the check after the test waits for it


def test_accounts_down_selling_fails_fast_and_orders_can_still_be_read(
    mesh: Mesh, alice: Customer
) -> None:
    placed = alice.sell("AAPL", 1)
    mesh.stop("accounts")

    seen = until_circuit_open(alice)
    read = alice.order(placed.order_id)
    listed = [o.order_id for o in alice.orders()]
    mesh.start("accounts")

    assert seen[-1] == "UNAVAILABLE CIRCUIT_OPEN", seen
    # Until then each call waits for accounts to come back, up to the deadline.
    assert set(seen[:-1]) <= {"UNAVAILABLE UPSTREAM_UNAVAILABLE", WAITED_OUT}, seen
    assert read.order_id == placed.order_id
    assert placed.order_id in listed


def test_orders_down_the_gateway_fails_fast_and_portfolios_still_work(
    mesh: Mesh, alice: Customer
) -> None:
    mesh.stop("orders")

    seen = until_circuit_open(alice)
    portfolio = alice.portfolio()
    mesh.start("orders")

    assert seen[-1] == "UNAVAILABLE CIRCUIT_OPEN", seen
    assert portfolio.account_id == "acc-alice"


@pytest.mark.parametrize(
    "mesh",
    [SLOW_ACCOUNTS],
    indirect=True,
)
def test_a_slow_upstream_does_not_stall_unrelated_calls(mesh: Mesh, alice: Customer) -> None:
    outcome: list[str] = []
    selling = threading.Thread(target=lambda: outcome.append(alice.try_sell("AAPL", 1)))
    selling.start()
    selling.join(0.3)  # let the sell reach accounts' delay (a head start, not a measurement)

    portfolio = alice.portfolio()
    listed = alice.orders()
    still_selling = selling.is_alive()
    selling.join()

    assert still_selling, f"the slow sell ({SLOW_MS} ms) finished before the other calls did"
    assert portfolio.account_id == "acc-alice"
    assert listed == []
    assert outcome == ["OK"]
