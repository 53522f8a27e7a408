"""The market composition root: the one place its parts are built and wired together."""

from __future__ import annotations

import functools
from operator import attrgetter

from mesh.config import Env
from mesh.events.consumer import Subscription
from mesh.events.wiring import Backbone
from mesh.server import Service
from services import events
from services.business_metrics import BusinessMetrics
from services.market import handlers, store
from services.market.config import MarketConfig
from services.market.domain import Exchange
from services.market.matcher import Matcher
from services.market.messages import CODEC
from services.market.servicer import MarketServicer
from simplebank.market.v1 import market_pb2, market_pb2_grpc


def build(env: Env) -> Service:
    config = MarketConfig.from_env(env)
    exchange = Exchange(halted=config.halted_symbols)
    subscriptions = (
        Subscription(
            events.OrderCreated,
            functools.partial(handlers.book_order, delay=config.execution_delay),
        ),
    )
    # Booking writes its order's row: replicas' batches write them in one order.
    backbone = Backbone(
        "market", config.store, store.SCHEMA, CODEC, subscriptions, attrgetter("order_id")
    )
    backbone.database.on_events_committed(BusinessMetrics().count)
    servicer = MarketServicer(exchange)
    return Service(
        config=config.server,
        register=lambda server: market_pb2_grpc.add_MarketServiceServicer_to_server(
            servicer, server
        ),
        service_names=[market_pb2.DESCRIPTOR.services_by_name["MarketService"].full_name],
        components=backbone.components(Matcher(backbone.database, exchange)),
        required_checks=backbone.required_checks,
        informational_checks=backbone.informational_checks,
    )
