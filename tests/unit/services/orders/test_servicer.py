"""Unit tests for the orders gRPC API: requests become commands, orders become protobuf."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mesh.convert import money
from mesh.storage.database import Database
from services.orders.domain import Order, OrderStatus
from services.orders.servicer import STATUS, OrderServicer, to_proto
from simplebank.orders.v1 import orders_pb2
from tests.unit.services.context import UNREAD_CONTEXT
from tests.unit.services.orders.fakes import Commits, FakeHoldings

START = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
PLACE = orders_pb2.PlaceOrderRequest(
    account_id="acc-alice", symbol="AAPL", quantity=10, request_id="req-1"
)


@pytest.fixture
def servicer(database: Database, holdings: FakeHoldings, commits: Commits) -> OrderServicer:
    return OrderServicer(database, holdings)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_each_order_status_has_the_proto_status_of_the_same_name(status: OrderStatus) -> None:
    assert orders_pb2.OrderStatus.Name(STATUS[status]) == f"ORDER_STATUS_{status.value}"


async def test_a_placed_order_comes_back_pending_with_its_history(
    servicer: OrderServicer, holdings: FakeHoldings, commits: Commits
) -> None:
    response = await servicer.PlaceOrder(PLACE, UNREAD_CONTEXT)

    order = response.order
    assert (order.account_id, order.symbol, order.quantity) == ("acc-alice", "AAPL", 10)
    assert order.status == orders_pb2.ORDER_STATUS_PENDING
    assert [change.note for change in order.history] == ["order created"]
    assert len(holdings.reserved) == commits.count == 1


async def test_a_placed_order_can_be_read_back_and_listed(servicer: OrderServicer) -> None:
    placed = (await servicer.PlaceOrder(PLACE, UNREAD_CONTEXT)).order

    read = await servicer.GetOrder(
        orders_pb2.GetOrderRequest(order_id=placed.order_id), UNREAD_CONTEXT
    )
    listed = await servicer.ListOrders(
        orders_pb2.ListOrdersRequest(account_id="acc-alice"), UNREAD_CONTEXT
    )

    assert read.order == placed
    assert list(listed.orders) == [placed]


def test_an_orders_money_and_outcome_travel_as_proto_fields() -> None:
    order = Order.new("o-1", "acc-alice", "AAPL", 10, START)
    order.mark_placed(START)
    order.mark_filled(price=19_000, proceeds=190_000, at=START)
    order.record_fee(290, START)

    proto = to_proto(order)

    assert proto.status == orders_pb2.ORDER_STATUS_FILLED
    assert (proto.fee, proto.proceeds) == (money(290), money(190_000))
    assert [STATUS[change.status] for change in order.history] == [
        change.status for change in proto.history
    ]
