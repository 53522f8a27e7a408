"""The orders composition root: the one place its parts are built and wired together."""

from __future__ import annotations

from operator import attrgetter

from mesh.calls.channels import Upstream
from mesh.config import Env
from mesh.events.consumer import Subscription
from mesh.events.wiring import Backbone
from mesh.server import Service
from services import events
from services.business_metrics import BusinessMetrics
from services.orders import handlers, store
from services.orders.config import OrdersConfig
from services.orders.holdings import AccountsHoldings
from services.orders.messages import CODEC
from services.orders.placements import PlacementSweeper
from services.orders.servicer import OrderServicer
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc


def build(env: Env) -> Service:
    config = OrdersConfig.from_env(env)
    subscriptions = (
        Subscription(events.OrderPlaced, handlers.mark_order_placed),
        Subscription(events.OrderExecuted, handlers.mark_order_filled),
        Subscription(events.OrderRejected, handlers.mark_order_rejected),
        Subscription(events.FeeCharged, handlers.record_fee),
        Subscription(events.FeeRefunded, handlers.record_fee_refund),
    )
    # Every handler locks its order's row: replicas' batches lock them in one order.
    backbone = Backbone(
        "orders", config.store, store.SCHEMA, CODEC, subscriptions, attrgetter("order_id")
    )
    backbone.database.on_events_committed(BusinessMetrics().count)
    accounts = Upstream(config.accounts_addr, tls=config.server.calling("accounts"))
    holdings = AccountsHoldings(accounts.channel)
    servicer = OrderServicer(backbone.database, holdings)
    sweeper = PlacementSweeper(backbone.database, holdings)
    return Service(
        config=config.server,
        register=lambda server: orders_pb2_grpc.add_OrderServiceServicer_to_server(
            servicer, server
        ),
        service_names=[orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name],
        components=[*backbone.components(), accounts, sweeper],
        required_checks=backbone.required_checks,
        informational_checks={**backbone.informational_checks, "accounts": accounts.check},
    )
