"""orders' gRPC API: translates protobuf to commands and orders back to protobuf, nothing more."""

from __future__ import annotations

import grpc

from mesh.convert import money, timestamp
from mesh.storage.database import Database
from services.orders import handlers
from services.orders.domain import Order, OrderStatus
from services.orders.placements import Holdings
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc

STATUS = {
    OrderStatus.PENDING: orders_pb2.ORDER_STATUS_PENDING,
    OrderStatus.PLACED: orders_pb2.ORDER_STATUS_PLACED,
    OrderStatus.FILLED: orders_pb2.ORDER_STATUS_FILLED,
    OrderStatus.REJECTED: orders_pb2.ORDER_STATUS_REJECTED,
}


def to_proto(order: Order) -> orders_pb2.Order:
    return orders_pb2.Order(
        order_id=order.order_id,
        account_id=order.account_id,
        symbol=order.symbol,
        quantity=order.quantity,
        status=STATUS[order.status],
        fee=money(order.fee),
        proceeds=money(order.proceeds),
        reason=order.reason,
        created_at=timestamp(order.created_at),
        updated_at=timestamp(order.updated_at),
        history=[
            orders_pb2.StatusChange(status=STATUS[h.status], at=timestamp(h.at), note=h.note)
            for h in order.history
        ],
    )


class OrderServicer(orders_pb2_grpc.OrderServiceServicer):
    def __init__(self, database: Database, holdings: Holdings) -> None:
        self._database = database
        self._holdings = holdings

    async def PlaceOrder(
        self,
        request: orders_pb2.PlaceOrderRequest,
        context: grpc.aio.ServicerContext[
            orders_pb2.PlaceOrderRequest, orders_pb2.PlaceOrderResponse
        ],
    ) -> orders_pb2.PlaceOrderResponse:
        command = handlers.PlaceOrder(
            account_id=request.account_id,
            symbol=request.symbol,
            quantity=request.quantity,
            request_id=request.request_id,
        )
        order = await handlers.place_order(command, self._database, self._holdings)
        return orders_pb2.PlaceOrderResponse(order=to_proto(order))

    async def GetOrder(
        self,
        request: orders_pb2.GetOrderRequest,
        context: grpc.aio.ServicerContext[orders_pb2.GetOrderRequest, orders_pb2.GetOrderResponse],
    ) -> orders_pb2.GetOrderResponse:
        order = await handlers.get_order(request.order_id, self._database)
        return orders_pb2.GetOrderResponse(order=to_proto(order))

    async def ListOrders(
        self,
        request: orders_pb2.ListOrdersRequest,
        context: grpc.aio.ServicerContext[
            orders_pb2.ListOrdersRequest, orders_pb2.ListOrdersResponse
        ],
    ) -> orders_pb2.ListOrdersResponse:
        page = await handlers.list_orders(
            request.account_id, self._database, request.page_size, request.page_token
        )
        return orders_pb2.ListOrdersResponse(
            orders=[to_proto(o) for o in page.orders], next_page_token=page.next_page_token
        )
