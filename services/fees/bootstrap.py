"""The fees composition root: the one place its parts are built and wired together."""

from __future__ import annotations

import functools

from mesh.config import Env
from mesh.consumer import Subscription, event_consumers
from mesh.database import Database
from mesh.jetstream import EventBus
from mesh.outbox import Outbox, OutboxRelay
from mesh.server import Service
from services.fees import events, handlers, store
from services.fees.config import FeesConfig
from services.fees.messages import CODEC
from services.fees.servicer import FeeServicer
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc


def build(env: Env) -> Service:
    config = FeesConfig.from_env(env)
    database = Database(config.store.database_path, store.SCHEMA, Outbox(CODEC))
    bus = EventBus(config.store.nats_url, "fees")
    relay = OutboxRelay(database, bus)
    subscriptions = (
        Subscription(
            events.OrderPlaced,
            functools.partial(handlers.charge_placed_order, schedule=config.schedule),
        ),
        Subscription(events.OrderRejected, handlers.refund_rejected_order),
    )
    consumers = event_consumers(
        "fees", subscriptions, database, bus, CODEC, ack_wait=config.store.ack_wait
    )
    servicer = FeeServicer(config.schedule)
    return Service(
        config=config.server,
        register=lambda server: fees_pb2_grpc.add_FeeServiceServicer_to_server(servicer, server),
        service_names=[fees_pb2.DESCRIPTOR.services_by_name["FeeService"].full_name],
        components=[database, bus, relay, *consumers],
        required_checks={"sqlite": database.ping},
        informational_checks={"nats": bus.check},
    )
