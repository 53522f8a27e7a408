"""The table of services (mesh/topology.py) says what the running mesh does on the event bus:
each service's durable consumer reads the events it consumes, its subjects are events one
publishes."""

from __future__ import annotations

import asyncio

import pytest

from mesh.events.bus import EVENT_SUBJECT_PREFIX
from mesh.topology import SERVICES
from tests.e2e.launcher import LaunchedMesh
from tests.support.data import jetstream
from tests.support.data.customer import FILLED

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 10.0
# A sell order that fills goes through these, whatever else the mesh has done so far.
A_FILLED_ORDER = {"OrderCreated", "OrderPlaced", "OrderExecuted", "FeeCharged"}


def durable_consumers(mesh: LaunchedMesh) -> dict[str, set[str]]:
    """Each durable on the stream, with the subjects it reads."""
    consumers = asyncio.run(jetstream.consumers(mesh.ready.nats_url, mesh.data_dir / "certs"))
    return {name: set(info.config.filter_subjects or []) for name, info in consumers.items()}


def test_each_service_has_one_durable_consumer_over_exactly_the_events_the_table_lists(
    mesh: LaunchedMesh,
) -> None:
    listed = {
        service.name: {EVENT_SUBJECT_PREFIX + event for event in service.consumes}
        for service in SERVICES
        if service.consumes
    }

    # `make run` is ready once the provisioner has made them.
    assert durable_consumers(mesh) == listed


def test_every_event_on_the_bus_is_one_the_table_says_a_service_publishes(
    mesh: LaunchedMesh,
) -> None:
    with mesh.customer("alice-token", "acc-alice") as alice:
        order = alice.sell("AAPL", 1, request_id="e2e-services-table")
        alice.wait_for_status(order.order_id, {FILLED}, SETTLE_SECONDS)

    subjects = asyncio.run(jetstream.message_counts(mesh.ready.nats_url, mesh.data_dir / "certs"))
    on_the_bus = {subject.removeprefix(EVENT_SUBJECT_PREFIX) for subject in subjects}
    published = {event for service in SERVICES for event in service.publishes}
    assert on_the_bus >= A_FILLED_ORDER, sorted(on_the_bus)
    assert on_the_bus <= published, sorted(on_the_bus - published)
