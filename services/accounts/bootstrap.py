"""The accounts composition root: the one place its parts are built and wired together."""

from __future__ import annotations

from mesh.config import Env
from mesh.consumer import EventConsumer, Subscription
from mesh.database import Database
from mesh.jetstream import EventBus
from mesh.server import Service
from services.accounts import handlers, store
from services.accounts.config import AccountsConfig
from services.accounts.domain import Account
from services.accounts.servicer import AccountServicer
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from simplebank.events.v1 import events_pb2

SUBSCRIPTIONS = (
    Subscription(events_pb2.FeeCharged, handlers.fee_charged),
    Subscription(events_pb2.FeeRefunded, handlers.fee_refunded),
    Subscription(events_pb2.OrderExecuted, handlers.order_executed),
    Subscription(events_pb2.OrderRejected, handlers.order_rejected),
)


class Seeder:
    """Seeds accounts into an empty database at start."""

    def __init__(self, database: Database, accounts: list[Account]) -> None:
        self._database = database
        self._accounts = accounts

    async def start(self) -> None:
        await self._database.transact(lambda c: store.seed_if_empty(c, self._accounts))

    async def stop(self) -> None:
        return None


def build(env: Env) -> Service:
    config = AccountsConfig.from_env(env)
    database = Database(config.store.database_path, store.SCHEMA)
    bus = EventBus(config.store.nats_url, "accounts")
    servicer = AccountServicer(database)
    consumers = [
        EventConsumer("accounts", s, database, bus, ack_wait=config.store.ack_wait)
        for s in SUBSCRIPTIONS
    ]
    return Service(
        config=config.server,
        register=lambda server: accounts_pb2_grpc.add_AccountServiceServicer_to_server(
            servicer, server
        ),
        service_names=[accounts_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name],
        components=[database, Seeder(database, config.seed), bus, *consumers],
        required_checks={"sqlite": database.ping},
        informational_checks={"nats": bus.check},
    )
