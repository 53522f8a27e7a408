"""The mesh's NATS users against a real nats-server: each forbidden act is refused, the rest work.

The server runs tooling/launcher/nats_auth.py's configuration (config/nats/mesh.json is the same
for compose and Kubernetes) with the mesh's certificates: a client's certificate is its login.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from mesh.events.bus import STREAM, SUBJECTS, inbox_prefix, subject_for
from mesh.events.durables import ACK_WAIT_SECONDS, provision_durable
from mesh.security.identity import NATS_SERVER, OPERATOR, PROVISIONER, server_name
from mesh.security.tls import MeshTls
from mesh.topology import BY_NAME
from tests.support.servers.nats import NatsServer, run_nats
from tooling.cli import certs

pytestmark = pytest.mark.integration

REFUSAL_TIMEOUT_SECONDS = 1.0  # a refused request gets no answer, only an -ERR line


@pytest.fixture(scope="module")
def mesh_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NatsServer, Path]]:
    folder = tmp_path_factory.mktemp("nats-permissions")
    certs_dir = folder / "certs"
    certs.ensure(certs_dir)
    with run_nats(folder, certs_dir=certs_dir) as server:
        asyncio.run(_create_stream(server, certs_dir))
        yield server, certs_dir


async def _create_stream(server: NatsServer, certs_dir: Path) -> None:
    async with connected(server, certs_dir, "orders") as (_, js, _errors):
        await js.add_stream(api.StreamConfig(name=STREAM, subjects=[SUBJECTS]))


@asynccontextmanager
async def connected(
    server: NatsServer, certs_dir: Path, identity: str
) -> AsyncIterator[tuple[Client, JetStreamContext, list[str]]]:
    """A connection as `identity`'s NATS user, its inboxes where its user may read them; the
    errors the server sends back (permission violations) are collected."""
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    client = await nats.connect(
        server.url,
        tls=MeshTls(identity, certs_dir).ssl_context(),
        tls_hostname=server_name(NATS_SERVER),
        inbox_prefix=inbox_prefix(identity),
        connect_timeout=2,
        max_reconnect_attempts=0,
        error_cb=on_error,
    )
    try:
        yield client, client.jetstream(timeout=2.0), errors
    finally:
        await client.close()


def stored(server: NatsServer, certs_dir: Path, subject: str) -> int:
    async def count() -> int:
        async with connected(server, certs_dir, OPERATOR) as (_, js, _errors):
            info = await js.stream_info(STREAM, subjects_filter=">")
        return int((info.state.subjects or {}).get(subject, 0))

    return asyncio.run(count())


def publish(server: NatsServer, certs_dir: Path, identity: str, subject: str) -> list[str]:
    """Publish one message as `identity`; the errors the server sent back."""

    async def run() -> list[str]:
        async with connected(server, certs_dir, identity) as (client, _, errors):
            await client.publish(subject, b"forged")
            await client.flush()
            await asyncio.sleep(0.2)  # the -ERR line comes after the flush's PONG
        return errors

    return asyncio.run(run())


def refused(errors: list[str], subject: str) -> bool:
    # nats-py lower-cases the server's -ERR line.
    return any(f'permissions violation for publish to "{subject.lower()}"' in e for e in errors)


def create_consumer(
    server: NatsServer, certs_dir: Path, identity: str, subject: str, config: api.ConsumerConfig
) -> tuple[dict[str, object] | None, list[str]]:
    """Send a consumer-create request as `identity` on `subject`: the answer, or None."""

    async def run() -> tuple[dict[str, object] | None, list[str]]:
        async with connected(server, certs_dir, identity) as (client, _, errors):
            body = json.dumps({"stream_name": STREAM, "config": config.as_dict()}).encode()
            try:
                reply = await client.request(subject, body, timeout=REFUSAL_TIMEOUT_SECONDS)
            except (TimeoutError, nats.errors.Error):
                return None, errors
            answer: dict[str, object] = json.loads(reply.data)
            return answer, errors

    return asyncio.run(run())


def durable(name: str, filter_subject: str) -> api.ConsumerConfig:
    return api.ConsumerConfig(
        name=name,
        durable_name=name,
        ack_policy=api.AckPolicy.EXPLICIT,
        filter_subject=filter_subject,
    )


# --- the operator reads, and writes nothing ------------------------------------------------------


@pytest.mark.parametrize("event", ["OrderExecuted", "FeeRefunded", "OrderCreated"])
def test_the_operator_cannot_publish_an_event(
    mesh_nats: tuple[NatsServer, Path], event: str
) -> None:
    server, certs_dir = mesh_nats
    subject = subject_for(event)
    before = stored(server, certs_dir, subject)

    errors = publish(server, certs_dir, OPERATOR, subject)

    assert refused(errors, subject), errors
    assert stored(server, certs_dir, subject) == before


def test_the_operator_cannot_publish_a_dead_letter_nor_ack_for_a_service(
    mesh_nats: tuple[NatsServer, Path],
) -> None:
    server, certs_dir = mesh_nats
    for subject in ("simplebank.deadletter.accounts.OrderExecuted", "$JS.ACK.SIMPLEBANK.x.1"):
        assert refused(publish(server, certs_dir, OPERATOR, subject), subject)


def test_the_operator_cannot_create_a_durable_consumer(
    mesh_nats: tuple[NatsServer, Path],
) -> None:
    """Not by name (it could take a service's durable before the service does), nor by putting
    a durable name in an ephemeral create."""
    server, certs_dir = mesh_nats
    config = durable("accounts-OrderExecuted", subject_for("OrderExecuted"))
    by_name = f"$JS.API.CONSUMER.CREATE.{STREAM}.accounts-OrderExecuted.{config.filter_subject}"

    answer, errors = create_consumer(server, certs_dir, OPERATOR, by_name, config)
    assert answer is None, answer
    assert refused(errors, by_name), errors

    ephemeral = f"$JS.API.CONSUMER.CREATE.{STREAM}"
    answer, errors = create_consumer(server, certs_dir, OPERATOR, ephemeral, config)
    assert answer is not None, errors
    assert "error" in answer, answer


def test_the_operator_reads_the_stream_and_its_consumers(
    mesh_nats: tuple[NatsServer, Path],
) -> None:
    """What the tests, the services table and a dead letter's inspection ask of NATS."""
    server, certs_dir = mesh_nats
    subject = subject_for("FeeCharged")
    assert publish(server, certs_dir, "fees", subject) == []

    async def read() -> tuple[int, bytes, list[str], bytes]:
        async with connected(server, certs_dir, OPERATOR) as (_, js, errors):
            info = await js.stream_info(STREAM, subjects_filter=">")
            last = await js.get_last_msg(STREAM, subject)
            names = [str(c.name) for c in await js.consumers_info(STREAM)]
            reader = await js.subscribe(subject, ordered_consumer=True, stream=STREAM)
            message = await reader.next_msg(timeout=2)
            await reader.unsubscribe()
            assert not errors, errors
            return int((info.state.subjects or {})[subject]), last.data or b"", names, message.data

    count, last, _names, first = asyncio.run(read())
    assert count >= 1
    assert last == b"forged"
    assert first == b"forged"


# --- each service publishes its own events and reads through its own durable -----------------


def test_a_service_cannot_publish_another_services_event(
    mesh_nats: tuple[NatsServer, Path],
) -> None:
    server, certs_dir = mesh_nats
    subject = subject_for("OrderExecuted")  # market's
    assert refused(publish(server, certs_dir, "accounts", subject), subject)
    assert refused(publish(server, certs_dir, "fees", subject), subject)
    assert publish(server, certs_dir, "market", subject) == []


def many(name: str, filter_subjects: list[str]) -> api.ConsumerConfig:
    """A durable over several subjects, as the provisioner makes them."""
    return api.ConsumerConfig(
        name=name,
        durable_name=name,
        ack_policy=api.AckPolicy.EXPLICIT,
        filter_subjects=filter_subjects,
    )


EVERY_EVENT = ["simplebank.events.>"]


@pytest.mark.parametrize(
    ("request_subject", "config"),
    [
        # Its own durable, over every event: the create subject naming no filter.
        (f"$JS.API.CONSUMER.CREATE.{STREAM}.accounts", many("accounts", EVERY_EVENT)),
        # The same over the legacy durable-create subject.
        (f"$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.accounts", many("accounts", EVERY_EVENT)),
        # Its own durable over one of its own events, on the subject naming that filter.
        (
            f"$JS.API.CONSUMER.CREATE.{STREAM}.accounts.simplebank.events.OrderExecuted",
            durable("accounts", "simplebank.events.OrderExecuted"),
        ),
        # A durable of the former layout, on the subject naming its filter.
        (
            f"$JS.API.CONSUMER.CREATE.{STREAM}.accounts-OrderExecuted"
            ".simplebank.events.OrderExecuted",
            durable("accounts-OrderExecuted", "simplebank.events.OrderExecuted"),
        ),
        # Another service's durable, with that durable's own subjects.
        (
            f"$JS.API.CONSUMER.CREATE.{STREAM}.fees",
            many("fees", ["simplebank.events.OrderPlaced", "simplebank.events.OrderRejected"]),
        ),
    ],
    ids=["own, unfiltered", "own, legacy", "own, filtered", "former", "another's"],
)
def test_a_service_cannot_create_or_change_a_durable(
    mesh_nats: tuple[NatsServer, Path], request_subject: str, config: api.ConsumerConfig
) -> None:
    """A durable over several subjects can be made with any filter (nats-server issue 6180), so
    no service may make one: the provisioner does."""
    server, certs_dir = mesh_nats
    answer, errors = create_consumer(server, certs_dir, "accounts", request_subject, config)
    assert answer is None, answer
    assert refused(errors, request_subject), errors


def test_a_service_cannot_delete_a_durable(mesh_nats: tuple[NatsServer, Path]) -> None:
    server, certs_dir = mesh_nats
    for name in ("accounts", "fees", "accounts-OrderExecuted"):
        subject = f"$JS.API.CONSUMER.DELETE.{STREAM}.{name}"
        assert refused(publish(server, certs_dir, "accounts", subject), subject)


def test_the_provisioner_makes_a_services_durable_and_the_service_reads_it(
    mesh_nats: tuple[NatsServer, Path],
) -> None:
    """mesh/events/durables.py makes it as the provisioner; mesh/events/consumer.py binds to it,
    pulls and acks as the service. The provisioner itself may not read from it."""
    server, certs_dir = mesh_nats
    subject = subject_for("OrderRejected")
    assert publish(server, certs_dir, "market", subject) == []

    async def provision_then_consume() -> tuple[list[bytes], list[str], list[str]]:
        async with connected(server, certs_dir, PROVISIONER) as (_, js, provisioner_errors):
            await provision_durable(js, BY_NAME["accounts"], ACK_WAIT_SECONDS)
        async with connected(server, certs_dir, "accounts") as (_, js, errors):
            await js.consumer_info(STREAM, "accounts")
            subscription = await js.pull_subscribe_bind(durable="accounts", stream=STREAM)
            messages = await subscription.fetch(10, timeout=2)
            for message in messages:
                await message.ack()
            return [m.data for m in messages], errors, provisioner_errors

    data, errors, provisioner_errors = asyncio.run(provision_then_consume())
    assert b"forged" in data
    assert not errors, errors
    assert not provisioner_errors, provisioner_errors
    pull = f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.accounts"
    assert refused(publish(server, certs_dir, PROVISIONER, pull), pull)
    assert refused(publish(server, certs_dir, PROVISIONER, subject), subject)
