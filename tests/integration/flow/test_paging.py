"""ListOrders through the real gateway, a page at a time: every order once, newest first, and
a token that only reads the listing it was made for."""

from __future__ import annotations

import grpc
import pytest

from simplebank.gateway.v1 import gateway_pb2
from tests.support.data.customer import FINAL, Customer
from tests.support.data.refusals import refusal

pytestmark = pytest.mark.integration


def pages(customer: Customer, page_size: int) -> list[list[str]]:
    found: list[list[str]] = []
    token = ""
    while True:
        request = gateway_pb2.ListOrdersRequest(
            account_id=customer.account_id, page_size=page_size, page_token=token
        )
        page = customer.call(customer.stub.ListOrders, request)
        found.append([o.order_id for o in page.orders])
        token = page.next_page_token
        if not token:
            return found


def test_pages_hold_every_order_once_newest_first(alice: Customer) -> None:
    # MSFT: on the shared mesh alice's AAPL is test_sell_order's, which counts her shares.
    placed = [alice.sell("MSFT", 1) for _ in range(3)]
    for order in placed:
        alice.wait_for_status(order.order_id, FINAL, 10.0)
    everything = [o.order_id for o in alice.orders()]

    paged = pages(alice, page_size=2)

    assert [o for page in paged for o in page] == everything
    assert [len(page) for page in paged[:-1]] == [2] * (len(paged) - 1)
    assert 1 <= len(paged[-1]) <= 2
    assert {o.order_id for o in placed} <= set(everything)


def test_a_page_token_of_alices_listing_does_not_read_bobs(alice: Customer, bob: Customer) -> None:
    for _ in range(2):
        alice.sell("MSFT", 1)
    first = alice.call(
        alice.stub.ListOrders, gateway_pb2.ListOrdersRequest(account_id="acc-alice", page_size=1)
    )

    with pytest.raises(grpc.RpcError) as caught:
        bob.call(
            bob.stub.ListOrders,
            gateway_pb2.ListOrdersRequest(account_id="acc-bob", page_token=first.next_page_token),
        )

    refused = refusal(caught.value)
    assert (refused.code, refused.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        frozenset({"page_token"}),
    )
