"""The accounts composition root: the one place its parts are built and wired together."""

from __future__ import annotations

from operator import attrgetter

from mesh.config import Env
from mesh.events.consumer import Subscription
from mesh.events.wiring import Backbone
from mesh.server import Service
from mesh.storage.database import Database
from services import events
from services.accounts import handlers, store
from services.accounts.config import AccountsConfig
from services.accounts.domain import Account
from services.accounts.messages import CODEC
from services.accounts.servicer import AccountServicer
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc


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
    subscriptions = (
        Subscription(events.FeeCharged, handlers.debit_fee),
        Subscription(events.FeeRefunded, handlers.credit_fee_refund),
        Subscription(events.OrderExecuted, handlers.settle_executed_order),
        Subscription(events.OrderRejected, handlers.release_rejected_order),
    )
    # Every handler locks its account's row: replicas' batches lock them in one order.
    backbone = Backbone(
        "accounts", config.store, store.SCHEMA, CODEC, subscriptions, attrgetter("account_id")
    )
    servicer = AccountServicer(backbone.database)
    return Service(
        config=config.server,
        register=lambda server: accounts_pb2_grpc.add_AccountServiceServicer_to_server(
            servicer, server
        ),
        service_names=[accounts_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name],
        components=backbone.components(Seeder(backbone.database, config.seed)),
        required_checks=backbone.required_checks,
        informational_checks=backbone.informational_checks,
    )
