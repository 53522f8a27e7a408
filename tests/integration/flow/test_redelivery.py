"""Events that come twice take effect once: JetStream's dedupe, the consumers' inbox, and a
consumer killed between its commit and its ack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from nats.js import api

from tests.support.data import jetstream
from tests.support.data.customer import FINAL, Customer
from tests.support.data.settle import settle
from tests.support.servers.ack_proxy import AckHoldingProxy, run_ack_proxy
from tests.support.servers.mesh import Mesh, MeshOptions, mesh_on
from tests.support.servers.nats import run_nats
from tests.support.servers.postgres import stateful_databases

pytestmark = pytest.mark.integration

FLOW_SECONDS = 10.0
CONSUMED_SECONDS = 15.0
STATEFUL = ("accounts", "market", "fees", "orders")


@pytest.fixture(scope="module")
def proxied_mesh(
    tmp_path_factory: pytest.TempPathFactory, backend: str, request: pytest.FixtureRequest
) -> Iterator[tuple[AckHoldingProxy, Mesh]]:
    """A mesh whose accounts service reaches NATS through a proxy that can hold its acks."""
    root = tmp_path_factory.mktemp("redelivery")
    with run_nats(root) as nats, run_ack_proxy(nats.port) as ack_proxy:
        options = MeshOptions(
            halted_symbols="GOOG",
            service_env={"accounts": {"NATS_URL": ack_proxy.url}},
            database_urls=stateful_databases(backend, request),
        )
        with mesh_on(nats, root, options) as running:
            yield ack_proxy, running


@pytest.fixture(scope="module")
def mesh(proxied_mesh: tuple[AckHoldingProxy, Mesh]) -> Mesh:
    return proxied_mesh[1]


@pytest.fixture(scope="module")
def ack_proxy(proxied_mesh: tuple[AckHoldingProxy, Mesh]) -> AckHoldingProxy:
    return proxied_mesh[0]


def trade(alice: Customer, bob: Customer) -> None:
    """Orders that exercise every event: two fills and a rejection with its refund."""
    orders = [
        (alice, alice.sell("AAPL", 3)),
        (alice, alice.sell("MSFT", 2)),
        (bob, bob.sell("GOOG", 1)),
    ]
    for customer, order in orders:
        customer.wait_for_status(order.order_id, FINAL, FLOW_SECONDS)


def delivered(consumers: dict[str, api.ConsumerInfo]) -> dict[str, int]:
    """How many deliveries each consumer has made, redeliveries included."""
    return {
        name: info.delivered.consumer_seq if info.delivered else 0
        for name, info in consumers.items()
    }


def backlog(consumer: api.ConsumerInfo | None) -> str:
    """What a consumer still has to do, or "" if nothing."""
    if consumer is None:
        return "not created yet"
    if consumer.num_pending or consumer.num_ack_pending:
        return f"{consumer.num_pending} to deliver, {consumer.num_ack_pending} to be acked"
    return ""


def wait_until_consumed(mesh: Mesh, names: set[str]) -> dict[str, api.ConsumerInfo]:
    """Poll until the named consumers exist and have delivered and been acked for everything."""
    deadline = time.monotonic() + CONSUMED_SECONDS
    while True:
        consumers = asyncio.run(jetstream.consumers(mesh.nats.url))
        busy = {name: backlog(consumers.get(name)) for name in names}
        if not any(busy.values()):
            return consumers
        assert time.monotonic() < deadline, f"consumers still busy: {busy}"
        time.sleep(0.1)


def test_jetstream_drops_an_event_published_again_with_the_same_id(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    trade(alice, bob)
    settle(mesh)
    url = mesh.nats.url
    counts = asyncio.run(jetstream.message_counts(url))
    event = asyncio.run(jetstream.last_message(url, "simplebank.events.FeeCharged"))
    assert event.subject
    assert event.data
    assert event.headers

    ack = asyncio.run(
        jetstream.publish(
            url, event.subject, event.data, {"Nats-Msg-Id": event.headers["Nats-Msg-Id"]}
        )
    )

    assert ack.duplicate
    assert asyncio.run(jetstream.message_counts(url)) == counts


def test_every_event_delivered_again_to_every_consumer_changes_nothing(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    """Replays the whole stream into fresh durables: each consumer sees every event a second
    time, and only its inbox (processed_events) stands between that and a second effect."""
    trade(alice, bob)
    before = settle(mesh)
    counts = asyncio.run(jetstream.message_counts(mesh.nats.url))
    names = set(asyncio.run(jetstream.consumers(mesh.nats.url)))

    mesh.stop(*STATEFUL)
    asyncio.run(jetstream.delete_consumers(mesh.nats.url, names))
    mesh.provision()
    mesh.start(*STATEFUL)
    consumers = wait_until_consumed(mesh, names)

    assert names == set(STATEFUL)  # one durable per service, named after it
    assert delivered(consumers) == {
        name: sum(counts.get(str(subject), 0) for subject in c.config.filter_subjects or [])
        for name, c in consumers.items()
    }
    assert settle(mesh) == before


def test_a_consumer_killed_after_commit_but_before_ack_applies_nothing_twice(
    mesh: Mesh, ack_proxy: AckHoldingProxy, alice: Customer, bob: Customer
) -> None:
    """Proves the inbox makes a redelivered, already-committed message a no-op, in a real
    process killed by SIGKILL.

    The window is made certain, not hit by luck: the proxy drops every ack accounts sends, so
    each message it applies is committed and still unacknowledged in JetStream when the
    process dies. The held acks are then answered with -NAK, which makes JetStream redeliver
    at once what it would otherwise redeliver after the consumers' ack_wait (5 s). They are
    answered only once the server has let go of the dead process's pull requests: a NAK that
    overtook the news of the kill went to a pull nobody would answer, and came a second time
    after ack_wait.
    """
    applied_before = len(settle(mesh).rows("accounts", "processed_events"))
    ack_proxy.acks.subjects.clear()
    ack_proxy.acks.holding = True
    try:
        trade(alice, bob)
        committed = settle(mesh)
        applied = len(committed.rows("accounts", "processed_events")) - applied_before
        held = wait_until_held(ack_proxy, applied)
        deliveries = delivered(asyncio.run(jetstream.consumers(mesh.nats.url)))
        mesh.kill("accounts")
    finally:
        ack_proxy.acks.holding = False
    accounts_consumers = {"accounts"}  # its durable
    wait_until_nobody_pulls(mesh, accounts_consumers)
    asyncio.run(jetstream.nak(mesh.nats.url, held))
    mesh.start("accounts")
    redelivered = delivered(wait_until_consumed(mesh, accounts_consumers))

    # Every message accounts applied was unacknowledged when it died...
    assert len(held) == applied > 0
    # ...came again to the new process...
    assert sum(redelivered[n] - deliveries[n] for n in accounts_consumers) == len(held)
    # ...and changed nothing: not a cent, not a share, not an inbox row.
    assert settle(mesh).tables["accounts"] == committed.tables["accounts"]


def wait_until_nobody_pulls(mesh: Mesh, names: set[str]) -> None:
    """Poll until none of the named consumers has a pull request waiting on the server."""
    deadline = time.monotonic() + CONSUMED_SECONDS
    while True:
        consumers = asyncio.run(jetstream.consumers(mesh.nats.url))
        waiting = {name: consumers[name].num_waiting for name in names if name in consumers}
        if not any(waiting.values()):
            return
        assert time.monotonic() < deadline, f"pull requests still waiting: {waiting}"
        time.sleep(0.05)


def wait_until_held(ack_proxy: AckHoldingProxy, count: int, timeout: float = 5.0) -> list[str]:
    """The held acks, once `count` have reached the proxy (an ack leaves just after its commit)."""
    deadline = time.monotonic() + timeout
    while len(ack_proxy.acks.subjects) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(ack_proxy.acks.subjects)
