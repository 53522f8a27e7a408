"""NATS_URL read as the bus reads it: one server or a cluster, and the stream's replica count."""

from __future__ import annotations

from mesh.events.bus import nats_servers, stream_replicas

CLUSTER = "tls://127.0.0.1:4222,tls://127.0.0.1:4223,tls://127.0.0.1:4224"


def test_a_single_url_is_one_server_holding_one_copy_of_the_stream() -> None:
    assert nats_servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]
    assert stream_replicas("nats://127.0.0.1:4222") == 1


def test_a_cluster_of_three_keeps_three_copies_of_the_stream() -> None:
    assert nats_servers(CLUSTER) == CLUSTER.split(",")
    assert stream_replicas(CLUSTER) == 3
