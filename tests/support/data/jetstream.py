"""What a test asks JetStream directly: the stream's messages, its consumers, a re-publish, a nak.

Each function opens its own short connection, so a synchronous test runs it with asyncio.run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from mesh.jetstream import STREAM


@asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    client = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        yield client, client.jetstream(timeout=2.0)
    finally:
        await client.close()


async def message_counts(url: str) -> dict[str, int]:
    """How many messages the stream holds, per subject."""
    async with jetstream(url) as (_, js):
        info = await js.stream_info(STREAM, subjects_filter=">")
    return dict(info.state.subjects or {})


async def last_message(url: str, subject: str) -> api.RawStreamMsg:
    async with jetstream(url) as (_, js):
        return await js.get_last_msg(STREAM, subject)


async def publish(url: str, subject: str, payload: bytes, headers: dict[str, str]) -> api.PubAck:
    async with jetstream(url) as (_, js):
        return await js.publish(subject, payload, headers=headers)


async def consumers(url: str) -> dict[str, api.ConsumerInfo]:
    """Every durable consumer on the stream, by name."""
    async with jetstream(url) as (_, js):
        return {str(c.name): c for c in await js.consumers_info(STREAM)}


async def delete_consumers(url: str, names: Iterable[str]) -> None:
    async with jetstream(url) as (_, js):
        for name in names:
            await js.delete_consumer(STREAM, name)


async def nak(url: str, ack_subjects: Iterable[str]) -> None:
    """Answer deliveries with -NAK, as a consumer would: JetStream redelivers them at once."""
    async with jetstream(url) as (client, _):
        for subject in ack_subjects:
            await client.publish(subject, b"-NAK")
        await client.flush()
