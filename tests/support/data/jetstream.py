"""What a test asks JetStream directly: the stream's messages, its consumers, a re-publish, a nak.

Each function opens its own short connection, so a synchronous test runs it with asyncio.run.
A tls:// URL is the mesh's NATS: the test connects as the operator, with the certificates in
`certs`; the operator's NATS user may read, not write (tooling/launcher/nats_auth.py), so a test
that publishes there names the identity that owns the subject.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from mesh.events.bus import STREAM, inbox_prefix
from mesh.security.identity import NATS_SERVER, OPERATOR, server_name
from mesh.security.tls import MeshTls


@asynccontextmanager
async def jetstream(
    url: str, certs: Path | None = None, identity: str = OPERATOR
) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    """A connection as `identity`: with `certs`, its replies come to the only inboxes its user
    may read (_INBOX.<identity>.>), and the server must show the NATS certificate."""
    secure = certs is not None
    client = await nats.connect(
        url,
        connect_timeout=2,
        max_reconnect_attempts=0,
        tls=MeshTls(identity, certs).ssl_context() if certs is not None else None,
        tls_hostname=server_name(NATS_SERVER) if secure else None,
        inbox_prefix=inbox_prefix(identity) if secure else "_INBOX",
    )
    try:
        yield client, client.jetstream(timeout=2.0)
    finally:
        await client.close()


async def message_counts(url: str, certs: Path | None = None) -> dict[str, int]:
    """How many messages the stream holds, per subject."""
    async with jetstream(url, certs) as (_, js):
        info = await js.stream_info(STREAM, subjects_filter=">")
    return dict(info.state.subjects or {})


async def last_message(url: str, subject: str, certs: Path | None = None) -> api.RawStreamMsg:
    async with jetstream(url, certs) as (_, js):
        return await js.get_last_msg(STREAM, subject)


async def publish(
    url: str,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
    certs: Path | None = None,
    identity: str = OPERATOR,
) -> api.PubAck:
    """Publish as `identity`: with the mesh's users, the one that owns `subject`."""
    async with jetstream(url, certs, identity) as (_, js):
        return await js.publish(subject, payload, headers=headers)


async def consumers(url: str, certs: Path | None = None) -> dict[str, api.ConsumerInfo]:
    """Every durable consumer on the stream, by name."""
    async with jetstream(url, certs) as (_, js):
        return {str(c.name): c for c in await js.consumers_info(STREAM)}


async def delete_consumers(url: str, names: Iterable[str], certs: Path | None = None) -> None:
    async with jetstream(url, certs) as (_, js):
        for name in names:
            await js.delete_consumer(STREAM, name)


async def nak(url: str, ack_subjects: Iterable[str], certs: Path | None = None) -> None:
    """Answer deliveries with -NAK, as a consumer would: JetStream redelivers them at once."""
    async with jetstream(url, certs) as (client, _):
        for subject in ack_subjects:
            await client.publish(subject, b"-NAK")
        await client.flush()
