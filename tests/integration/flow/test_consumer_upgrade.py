"""The upgrade from one durable consumer per (service, event) to one per service, with events in
flight both ways: applied but not acked under the former durables, and published while no
consumer reads. Every event is applied exactly once across the change (mesh/events/durables.py).

The former layout is made as the mesh before this change made it: a durable `<service>-<Event>`
per event, filtered on its subject, acked explicitly. Each is created at a stream sequence of its
own, so its ack floor is there and what lies above was applied but never acked, as after a crash
between commit and ack. The databases need no change: the inbox key was `<service>-<Event>`
then and is now. The NATS here is plaintext, so the test may make the former durables itself;
with the mesh's users only the provisioner may touch a durable (test_nats_permissions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import api

from mesh.events.bus import STREAM, subject_for
from mesh.events.durables import acked_up_to, former_durables
from mesh.topology import BY_NAME
from tests.support.data import jetstream
from tests.support.data.customer import FINAL, PENDING, Customer
from tests.support.data.messages import processed
from tests.support.data.settle import settle
from tests.support.servers.mesh import Mesh, MeshOptions, mesh_on
from tests.support.servers.nats import run_nats
from tests.support.servers.postgres import stateful_databases

pytestmark = pytest.mark.integration

STATEFUL = ("orders", "accounts", "fees", "market")
FLOW_SECONDS = 20.0


@pytest.fixture
def mesh(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Mesh]:
    options = MeshOptions(halted_symbols="GOOG", database_urls=stateful_databases(backend, request))
    with run_nats(tmp_path) as nats, mesh_on(nats, tmp_path, options) as running:
        yield running


def former_config(name: str, event: str) -> api.ConsumerConfig:
    """A durable of the former layout, as its consumer created it."""
    return api.ConsumerConfig(
        durable_name=name,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=5.0,
        deliver_policy=api.DeliverPolicy.ALL,
        filter_subject=subject_for(event),
    )


async def back_to_the_former_layout(url: str, floors: dict[str, int]) -> dict[str, int]:
    """Delete the services' durables and make the former ones; each is handed its messages and
    acks those up to its floor, the rest not, as a consumer that died after applying them. How
    far each has had everything acked, as the provisioner reads it."""
    async with jetstream.jetstream(url) as (_, js):
        for service in STATEFUL:
            await js.delete_consumer(STREAM, service)
        reported = {}
        last = int((await js.stream_info(STREAM)).state.last_seq)
        for service in STATEFUL:
            for name, event in zip(
                former_durables(BY_NAME[service]), BY_NAME[service].consumes, strict=True
            ):
                await js.add_consumer(STREAM, former_config(name, event))
                pull = await js.pull_subscribe_bind(durable=name, stream=STREAM)
                with contextlib.suppress(TimeoutError):
                    for message in await pull.fetch(1000, timeout=1.0):
                        if message.metadata.sequence.stream <= floors[name]:
                            await message.ack_sync()
                await pull.unsubscribe()
                reported[name] = acked_up_to(await js.consumer_info(STREAM, name), last)
        return reported


async def last_sequence(url: str) -> int:
    async with jetstream.jetstream(url) as (_, js):
        return int((await js.stream_info(STREAM)).state.last_seq)


def duplicates_seen(mesh: Mesh) -> int:
    """Events the services were handed again and found in their inbox, from their metrics."""
    return sum(
        count
        for service in STATEFUL
        for (_consumer, _event, outcome), count in processed(mesh.metrics_addr(service)).items()
        if outcome == "duplicate"
    )


def test_the_upgrade_to_one_durable_per_service_applies_every_event_once(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    before = [(alice, alice.sell("AAPL", 1)), (alice, alice.sell("AAPL", 1))]
    before += [(bob, bob.sell("GOOG", 1))]
    for customer, order in before:
        customer.wait_for_status(order.order_id, FINAL, FLOW_SECONDS)
    # The inbox keys the mesh of one durable per event wrote: `<service>-<Event>`, its names.
    written = {
        row["consumer"] for s in STATEFUL for row in settle(mesh).rows(s, "processed_events")
    }
    assert written <= {f"{s}-{event}" for s in STATEFUL for event in BY_NAME[s].consumes}
    last = asyncio.run(last_sequence(mesh.nats.url))
    # Different floors, all below the last event: what lies above each was applied, unacked.
    names = [n for s in STATEFUL for n in former_durables(BY_NAME[s])]
    floors = {name: max(last // 2 - index, 0) for index, name in enumerate(names)}

    mesh.stop(*STATEFUL)
    acked = asyncio.run(back_to_the_former_layout(mesh.nats.url, floors))
    assert [a for a in acked.values() if a < last]  # some were left unacked
    mesh.start(*STATEFUL)  # they serve, and wait for their durables
    in_flight = [alice.sell("MSFT", 1), alice.sell("MSFT", 1)]  # published, read by no one yet
    assert {alice.order(o.order_id).status for o in in_flight} == {PENDING}

    mesh.provision()

    consumers = asyncio.run(jetstream.consumers(mesh.nats.url))
    assert set(consumers) == set(STATEFUL)  # the former ones are gone
    for service in STATEFUL:
        config = consumers[service].config
        lowest = min(acked[n] for n in former_durables(BY_NAME[service]))
        assert config.opt_start_seq == lowest + 1, service
        assert sorted(config.filter_subjects or []) == sorted(
            subject_for(e) for e in BY_NAME[service].consumes
        )
    for order in in_flight:
        alice.wait_for_status(order.order_id, FINAL, FLOW_SECONDS)
    settle(mesh)  # every invariant, no event applied twice among them
    assert duplicates_seen(mesh) > 0  # the unacked events came again, and changed nothing
    assert alice.position("AAPL").quantity == 98
    assert alice.position("MSFT").quantity == 48
    assert bob.position("GOOG").quantity == 20  # halted: rejected, given back


def test_provisioning_again_finds_every_durable_and_changes_nothing(mesh: Mesh) -> None:
    before = asyncio.run(jetstream.consumers(mesh.nats.url))

    mesh.provision()

    after = asyncio.run(jetstream.consumers(mesh.nats.url))
    assert set(after) == set(before) == set(STATEFUL)
    assert {n: c.created for n, c in after.items()} == {n: c.created for n, c in before.items()}
    assert mesh.log_lines_with("found orders")
