"""The fees composition root: the one place its parts are built and wired together."""

from __future__ import annotations

import functools
from operator import attrgetter

from mesh.config import Env
from mesh.events.consumer import Subscription
from mesh.events.wiring import Backbone
from mesh.server import Service
from services import events
from services.business_metrics import BusinessMetrics
from services.fees import handlers, store
from services.fees.config import FeesConfig
from services.fees.messages import CODEC
from services.fees.servicer import FeeServicer
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc


def build(env: Env) -> Service:
    config = FeesConfig.from_env(env)
    subscriptions = (
        Subscription(
            events.OrderPlaced,
            functools.partial(handlers.charge_placed_order, schedule=config.schedule),
        ),
        Subscription(events.OrderRejected, handlers.refund_rejected_order),
    )
    # Every handler locks its order's fee row: replicas' batches lock them in one order.
    backbone = Backbone(
        "fees", config.store, store.SCHEMA, CODEC, subscriptions, attrgetter("order_id")
    )
    backbone.database.on_events_committed(BusinessMetrics().count)
    servicer = FeeServicer(config.schedule)
    return Service(
        config=config.server,
        register=lambda server: fees_pb2_grpc.add_FeeServiceServicer_to_server(servicer, server),
        service_names=[fees_pb2.DESCRIPTOR.services_by_name["FeeService"].full_name],
        components=backbone.components(),
        required_checks=backbone.required_checks,
        informational_checks=backbone.informational_checks,
    )
