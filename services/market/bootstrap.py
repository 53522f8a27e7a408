"""The market composition root: the one place its parts are built and wired together."""

from __future__ import annotations

import functools

from mesh.config import Env
from mesh.consumer import Subscription, event_consumers
from mesh.database import Database
from mesh.jetstream import EventBus
from mesh.outbox import Outbox, OutboxRelay
from mesh.server import Service
from services.market import events, handlers, store
from services.market.config import MarketConfig
from services.market.domain import Exchange
from services.market.matcher import Matcher
from services.market.messages import CODEC
from services.market.servicer import MarketServicer
from simplebank.market.v1 import market_pb2, market_pb2_grpc


def build(env: Env) -> Service:
    config = MarketConfig.from_env(env)
    exchange = Exchange(halted=config.halted_symbols)
    database = Database(config.store.database_path, store.SCHEMA, Outbox(CODEC))
    bus = EventBus(config.store.nats_url, "market")
    relay = OutboxRelay(database, bus)
    subscriptions = (
        Subscription(
            events.OrderCreated,
            functools.partial(handlers.book_order, delay=config.execution_delay),
        ),
    )
    consumers = event_consumers(
        "market", subscriptions, database, bus, CODEC, ack_wait=config.store.ack_wait
    )
    matcher = Matcher(database, exchange)
    servicer = MarketServicer(exchange)
    return Service(
        config=config.server,
        register=lambda server: market_pb2_grpc.add_MarketServiceServicer_to_server(
            servicer, server
        ),
        service_names=[market_pb2.DESCRIPTOR.services_by_name["MarketService"].full_name],
        components=[database, bus, relay, matcher, *consumers],
        required_checks={"sqlite": database.ping},
        informational_checks={"nats": bus.check},
    )
