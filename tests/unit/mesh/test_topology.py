"""The table of services is consistent with itself and with the event contract."""

from __future__ import annotations

import importlib

import pytest

from mesh.events.codec import EventCodec
from mesh.topology import SERVICES, ServiceInfo
from simplebank.events.v1 import events_pb2

CONSUMED = {event for service in SERVICES for event in service.consumes}
PUBLISHED = {event for service in SERVICES for event in service.publishes}


def test_every_event_the_table_names_is_a_message_of_the_event_contract() -> None:
    unknown = (CONSUMED | PUBLISHED) - set(events_pb2.DESCRIPTOR.message_types_by_name)

    assert not unknown


def test_every_event_published_is_consumed_and_every_event_consumed_is_published() -> None:
    assert PUBLISHED == CONSUMED


def test_each_service_has_a_port_of_its_own() -> None:
    ports = [service.port for service in SERVICES]

    assert len(set(ports)) == len(ports)


def test_no_two_ports_of_the_table_collide() -> None:
    ports = [p for s in SERVICES for p in (s.port, s.metrics_port, s.health_port)]

    assert len(set(ports)) == len(ports)


@pytest.mark.parametrize("service", [s for s in SERVICES if s.consumes or s.publishes], ids=str)
def test_the_table_says_what_each_service_s_event_edge_publishes_and_consumes(
    service: ServiceInfo,
) -> None:
    codec: EventCodec = importlib.import_module(f"{service.module}.messages").CODEC

    assert sorted(codec.publishes) == sorted(service.publishes)
    assert sorted(codec.consumes) == sorted(service.consumes)
