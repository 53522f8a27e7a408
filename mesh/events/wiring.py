"""A service's state and its place in the event flow, wired the one way every service needs.

The database with its outbox, the connection to JetStream, the relay that publishes what the
outbox holds (for a service that publishes), and the consumer of the service's one durable,
which hands each event to its subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mesh.config import StoreConfig
from mesh.events.bus import EventBus
from mesh.events.codec import EventCodec
from mesh.events.consumer import EventConsumer, Subscription
from mesh.events.outbox import Outbox, OutboxRelay
from mesh.health.service import Check
from mesh.server import Component
from mesh.storage.database import Database


class Backbone:
    def __init__(
        self,
        name: str,
        config: StoreConfig,
        schema: str,
        codec: EventCodec,
        subscriptions: Iterable[Subscription[Any]] = (),
        lock_order: Callable[[Any], str] | None = None,
    ) -> None:
        self.database = Database(config.database, schema, Outbox(codec))
        self.bus = EventBus(config.nats_url, name, config.nats_tls)
        # Woken by commits, every replica's (on PostgreSQL the leading replica also relays
        # what the others commit: NOTIFY tells it), so its poll is only a slow safety net.
        relay = [OutboxRelay(self.database, self.bus)] if codec.publishes else []
        subscriptions = list(subscriptions)
        consumers = (
            [
                EventConsumer(
                    name, subscriptions, self.database, self.bus, codec, lock_order=lock_order
                )
            ]
            if subscriptions
            else []
        )
        self._users: list[Component] = [self.bus, *relay, *consumers]
        # Without its database a service can do nothing; without NATS it still takes orders
        # (they wait in the outbox), so the broker is shown in the heartbeat, not in health.
        self.required_checks: dict[str, Check] = {"database": self.database.ping}
        self.informational_checks: dict[str, Check] = {"nats": self.bus.check}

    def components(self, *ready_first: Component) -> list[Component]:
        """What to start, in order (stopped in reverse): the database, then `ready_first`
        (what must be in place before events arrive, such as seeded accounts), then the bus,
        the relay and the consumers."""
        return [self.database, *ready_first, *self._users]
