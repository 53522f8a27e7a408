"""The event bus on a three-node JetStream cluster: the stream kept three times, and the outbox
relay and a durable consumer riding through a kill -9 of the stream's leader, nothing lost and
nothing applied twice; plaintext and with the mesh's TLS and users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats.errors
import pytest
from nats.js import JetStreamContext

from mesh.events.bus import STREAM, EventBus
from mesh.events.consumer import EventConsumer, Subscription
from mesh.events.outbox import OutboxRelay
from mesh.security.identity import PROVISIONER
from mesh.security.tls import MeshTls
from mesh.storage.database import Database
from tests.support.data.events import (
    CODEC,
    CONNECT_TIMEOUT_SECONDS,
    OrderCreated,
    eventually,
    order_created,
    provision_consumer,
    record_order,
    running,
    service_database,
    store_event,
)
from tests.support.servers.certs import mesh_certs
from tests.support.servers.nats_cluster import NatsCluster, run_nats_cluster

pytestmark = pytest.mark.integration

SERVICE = "svc"
# With the mesh's users the relay publishes as orders (OrderCreated is its event) and the
# consumer reads as market (its durable is `market`): the operator may do neither.
PUBLISHER, READER = "orders", "market"
EVENTS = 60
KILL_AFTER = 20
TIMEOUT_SECONDS = 60.0


@asynccontextmanager
async def cluster_bus(url: str, identity: str, tls: MeshTls | None) -> AsyncIterator[EventBus]:
    bus = EventBus(url, identity, tls)
    await bus.start()
    try:
        await asyncio.wait_for(bus.jetstream(), CONNECT_TIMEOUT_SECONDS * 3)
        yield bus
    finally:
        await bus.stop()


async def applications(database: Database) -> tuple[int, int]:
    """How many times events were applied, and to how many distinct orders."""
    row = await database.transact(
        lambda c: c.execute("SELECT COUNT(*), COUNT(DISTINCT order_id) FROM applied").fetchone()
    )
    return int(row[0]), int(row[1])


async def leader(js: JetStreamContext) -> str:
    info = await js.stream_info(STREAM)
    assert info.cluster is not None, "the stream is not clustered"
    assert info.cluster.leader, "the stream has no leader"
    return info.cluster.leader


async def applied_at_least(database: Database, count: int) -> bool:
    return (await applications(database))[0] >= count


async def a_new_leader(js: JetStreamContext, old: str) -> bool:
    try:
        return await leader(js) != old
    except (TimeoutError, nats.errors.Error):  # the cluster is electing: asking fails till then
        return False


@pytest.mark.parametrize("secure", [False, True], ids=["plaintext", "tls"])
async def test_relay_and_consumer_ride_through_a_kill_of_the_stream_leader(
    tmp_path: Path, location: Path | str, secure: bool
) -> None:
    certs_dir = mesh_certs(tmp_path) if secure else None
    publisher, reader = (PUBLISHER, READER) if secure else (SERVICE, SERVICE)

    def tls(identity: str) -> MeshTls | None:
        return None if certs_dir is None else MeshTls(identity, certs_dir)

    with run_nats_cluster(tmp_path, certs_dir) as cluster:
        async with (
            service_database(location) as database,
            cluster_bus(cluster.url, publisher, tls(publisher)) as bus,
            cluster_bus(cluster.url, reader, tls(reader)) as reader_bus,
            cluster_bus(cluster.url, PROVISIONER, tls(PROVISIONER)) as provisioner,
        ):
            # The durable, made as `python -m mesh.events.provision` makes it: market's own
            # with the mesh's users, which let no service make one.
            await provision_consumer(await provisioner.jetstream(), reader, ack_wait=2.0)
            await run_through_a_leader_kill(cluster, database, bus, reader_bus, reader)


async def run_through_a_leader_kill(
    cluster: NatsCluster, database: Database, bus: EventBus, reader_bus: EventBus, reader: str
) -> None:
    js = await bus.jetstream()
    info = await js.stream_info(STREAM)
    assert info.config.num_replicas == 3
    consumer = EventConsumer(
        reader, [Subscription(OrderCreated, record_order)], database, reader_bus, CODEC
    )
    relay = OutboxRelay(database, bus, poll_interval=0.05)
    async with running(relay, consumer):
        for index in range(KILL_AFTER):
            await store_event(database, f"o-{index}/OrderCreated", order_created(f"o-{index}"))
        await eventually(
            lambda: applied_at_least(database, KILL_AFTER), TIMEOUT_SECONDS, "the first events"
        )
        old_leader = await leader(js)
        killed = cluster.node_named(old_leader)
        killed.kill()
        for index in range(KILL_AFTER, EVENTS):
            await store_event(database, f"o-{index}/OrderCreated", order_created(f"o-{index}"))
        await eventually(
            lambda: applied_at_least(database, EVENTS),
            TIMEOUT_SECONDS,
            f"every event applied after killing {old_leader}\n{cluster.logs()}",
        )
        await eventually(lambda: a_new_leader(js, old_leader), TIMEOUT_SECONDS, "a new leader")
        # Long enough for a redelivery of anything unacked to have been tried.
        await asyncio.sleep(3.0)

    assert await applications(database) == (EVENTS, EVENTS)
