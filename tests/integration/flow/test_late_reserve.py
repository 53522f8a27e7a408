"""A reserve that reaches accounts after orders gave its attempt up holds nothing.

Under `make cluster` chaos, a gateway killed mid-call made orders give back a reserve whose
answer it never got; the release ran on one accounts replica before the reserve committed on
the other, and the shares stayed held for an order that did not exist. The release now names
the attempt, and accounts refuses that attempt from then on, on both backends.
"""

from __future__ import annotations

import uuid

import grpc
import pytest

from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from tests.support.data.customer import Customer
from tests.support.data.refusals import refusal
from tests.support.servers.mesh import Mesh

pytestmark = pytest.mark.integration

TIMEOUT = 5.0


def test_a_reserve_that_arrives_after_its_release_holds_nothing(
    mesh: Mesh, alice: Customer
) -> None:
    order_id, attempt_id = f"late-{uuid.uuid4()}", uuid.uuid4().hex
    reserved_before = alice.position("AAPL").reserved
    with mesh.channel_as("orders", "accounts") as channel:
        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        released = accounts.ReleaseHoldings(
            accounts_pb2.ReleaseHoldingsRequest(order_id=order_id, attempt_id=attempt_id),
            timeout=TIMEOUT,
        )
        late = accounts_pb2.ReserveHoldingsRequest(
            order_id=order_id,
            account_id="acc-alice",
            symbol="AAPL",
            quantity=1,
            attempt_id=attempt_id,
        )
        with pytest.raises(grpc.RpcError) as refused:
            accounts.ReserveHoldings(late, timeout=TIMEOUT)

    assert not released.released, "nothing was held yet"
    late_refusal = refusal(refused.value)
    assert late_refusal.code is grpc.StatusCode.ABORTED
    assert late_refusal.reason == "RESERVATION_RELEASED"
    assert late_refusal.metadata == {"order_id": order_id, "attempt_id": attempt_id}
    assert alice.position("AAPL").reserved == reserved_before
