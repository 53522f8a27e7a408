"""Selling stock through the whole mesh: filled, refused, rejected by the market, retried."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from tests.support.data.customer import FILLED, FINAL, PENDING, REJECTED, Customer
from tests.support.data.refusals import refusal
from tests.support.data.settle import settle
from tests.support.servers.mesh import Mesh
from tooling.harness.invariants import net_fee
from tooling.harness.snapshot import take_snapshot

pytestmark = pytest.mark.integration

FLOW_SECONDS = 10.0


def test_alice_selling_10_aapl_ends_filled_and_her_cash_grows_by_proceeds_minus_fee(
    mesh: Mesh, alice: Customer
) -> None:
    # The one test on the shared mesh that sells alice's AAPL: her 100 seeded shares become 90.
    cash_before = alice.portfolio().cash.minor_units

    placed = alice.sell("AAPL", 10)
    alice.wait_for_status(placed.order_id, FINAL, FLOW_SECONDS)
    settle(mesh)  # the fee reaches orders on its own event, maybe after the fill
    order = alice.order(placed.order_id)

    assert placed.status == PENDING
    assert order.status == FILLED
    assert order.proceeds.minor_units > 0
    # More than the flat part: market's notional reached fees and was charged on.
    assert order.fee.minor_units > 100
    position = alice.position("AAPL")
    assert (position.quantity, position.reserved) == (90, 0)
    assert alice.portfolio().cash.minor_units == (
        cash_before + order.proceeds.minor_units - order.fee.minor_units
    )


def test_selling_more_than_she_holds_is_refused_and_leaves_nothing_behind(
    mesh: Mesh, alice: Customer
) -> None:
    position = alice.position("MSFT")
    too_many = position.quantity - position.reserved + 1
    orders_before, before = alice.orders(), take_snapshot(mesh.databases)

    with pytest.raises(grpc.RpcError) as caught:
        alice.sell("MSFT", too_many)

    refused = refusal(caught.value)
    assert refused.code is grpc.StatusCode.FAILED_PRECONDITION
    assert refused.reason == "INSUFFICIENT_HOLDINGS"
    assert refused.metadata["requested"] == str(too_many)
    # Nothing reserved, no order stored, no event: every database is as it was.
    assert take_snapshot(mesh.databases) == before
    assert alice.orders() == orders_before


def test_a_market_rejection_refunds_the_fee_and_releases_the_shares(
    mesh: Mesh, bob: Customer
) -> None:
    before = bob.portfolio()

    placed = bob.sell("GOOG", 5)
    bob.wait_for_status(placed.order_id, FINAL, FLOW_SECONDS)
    snapshot = settle(mesh)
    order = bob.order(placed.order_id)

    assert (order.status, order.reason) == (REJECTED, "SYMBOL_HALTED")
    assert order.fee.minor_units == 0
    assert net_fee(snapshot, order.order_id) == 0
    fee = snapshot.by_order("fees", "order_fees")[order.order_id]
    # REFUNDED when the charge came first (the usual case), WAIVED when the rejection overtook it.
    assert fee["state"] in {"REFUNDED", "WAIVED"}
    fee_entries = {
        e["kind"] for e in snapshot.rows("accounts", "ledger") if e["order_id"] == order.order_id
    }
    assert fee_entries == ({"fee", "fee_refund"} if fee["state"] == "REFUNDED" else set())
    assert bob.portfolio() == before


def test_the_same_request_id_twice_places_one_order(mesh: Mesh, alice: Customer) -> None:
    request_id = f"retry-{uuid.uuid4()}"
    shares_before = alice.position("MSFT").quantity
    orders_before = len(alice.orders())

    with ThreadPoolExecutor(4) as pool:  # at once, as a client retrying on a timeout might
        attempts = list(pool.map(lambda _: alice.sell("MSFT", 2, request_id), range(4)))
    alice.wait_for_status(attempts[0].order_id, FINAL, FLOW_SECONDS)
    settle(mesh)
    again = alice.sell("MSFT", 2, request_id)  # and once more after it filled

    assert {a.order_id for a in attempts} == {again.order_id}
    assert again.status == FILLED
    assert len(alice.orders()) == orders_before + 1
    assert alice.position("MSFT").quantity == shares_before - 2


def test_the_same_request_id_with_other_parameters_is_refused(mesh: Mesh, alice: Customer) -> None:
    request_id = f"reused-{uuid.uuid4()}"
    first = alice.sell("MSFT", 1, request_id)
    alice.wait_for_status(first.order_id, FINAL, FLOW_SECONDS)
    settle(mesh)
    before = take_snapshot(mesh.databases)

    with pytest.raises(grpc.RpcError) as caught:
        alice.sell("MSFT", 3, request_id)

    refused = refusal(caught.value)
    assert refused.code is grpc.StatusCode.ALREADY_EXISTS
    assert refused.reason == "REQUEST_ID_REUSED"
    assert refused.metadata["order_id"] == first.order_id
    assert take_snapshot(mesh.databases) == before
