"""The orders composition root: the one place its parts are built and wired together."""

from __future__ import annotations

from mesh.channels import Upstream
from mesh.config import Env
from mesh.consumer import Subscription, event_consumers
from mesh.database import Database
from mesh.jetstream import EventBus
from mesh.outbox import Outbox, OutboxRelay
from mesh.server import Service
from services.orders import events, handlers, store
from services.orders.config import OrdersConfig
from services.orders.holdings import AccountsHoldings
from services.orders.messages import CODEC
from services.orders.servicer import OrderServicer
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc


def build(env: Env) -> Service:
    config = OrdersConfig.from_env(env)
    database = Database(config.store.database_path, store.SCHEMA, Outbox(CODEC))
    bus = EventBus(config.store.nats_url, "orders")
    relay = OutboxRelay(database, bus)
    accounts = Upstream(config.accounts_addr)
    servicer = OrderServicer(database, AccountsHoldings(accounts.channel))
    subscriptions = (
        Subscription(events.OrderPlaced, handlers.mark_order_placed),
        Subscription(events.OrderExecuted, handlers.mark_order_filled),
        Subscription(events.OrderRejected, handlers.mark_order_rejected),
        Subscription(events.FeeCharged, handlers.record_fee),
        Subscription(events.FeeRefunded, handlers.record_fee_refund),
    )
    consumers = event_consumers(
        "orders", subscriptions, database, bus, CODEC, ack_wait=config.store.ack_wait
    )
    return Service(
        config=config.server,
        register=lambda server: orders_pb2_grpc.add_OrderServiceServicer_to_server(
            servicer, server
        ),
        service_names=[orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name],
        components=[database, bus, relay, *consumers, accounts],
        required_checks={"sqlite": database.ping},
        informational_checks={"nats": bus.check, "accounts": accounts.check},
    )
