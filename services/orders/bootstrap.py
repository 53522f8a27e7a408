"""The orders composition root: the one place its parts are built and wired together."""

from __future__ import annotations

from mesh.channels import Upstream
from mesh.config import Env
from mesh.consumer import EventConsumer, Subscription
from mesh.database import Database
from mesh.jetstream import EventBus
from mesh.outbox import OutboxRelay
from mesh.server import Service
from services.orders import handlers, store
from services.orders.config import OrdersConfig
from services.orders.holdings import AccountsHoldings
from services.orders.servicer import OrderServicer
from simplebank.events.v1 import events_pb2
from simplebank.orders.v1 import orders_pb2, orders_pb2_grpc

SUBSCRIPTIONS = (
    Subscription(events_pb2.OrderPlaced, handlers.order_placed),
    Subscription(events_pb2.OrderExecuted, handlers.order_executed),
    Subscription(events_pb2.OrderRejected, handlers.order_rejected),
    Subscription(events_pb2.FeeCharged, handlers.fee_charged),
    Subscription(events_pb2.FeeRefunded, handlers.fee_refunded),
)


def build(env: Env) -> Service:
    config = OrdersConfig.from_env(env)
    database = Database(config.store.database_path, store.SCHEMA)
    bus = EventBus(config.store.nats_url, "orders")
    relay = OutboxRelay(database, bus)
    accounts = Upstream(config.accounts_addr)
    servicer = OrderServicer(database, AccountsHoldings(accounts.channel), relay.notify)
    consumers = [
        EventConsumer("orders", s, database, bus, ack_wait=config.store.ack_wait)
        for s in SUBSCRIPTIONS
    ]
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
