"""The connection to NATS JetStream: one stream for every SimpleBank event, reconnecting forever."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from mesh.security.identity import NATS_SERVER, server_name
from mesh.security.tls import MeshTls

log = logging.getLogger(__name__)

STREAM = "SIMPLEBANK"
SUBJECTS = "simplebank.>"
EVENT_SUBJECT_PREFIX = "simplebank.events."
DEAD_LETTER_PREFIX = "simplebank.deadletter."
# A stream on a cluster of at least this many nodes is kept on this many (survives one loss).
CLUSTER_REPLICAS = 3
STREAM_RETRY_SECONDS = 0.5
# How long JetStream remembers a Nats-Msg-Id to drop a re-published duplicate.
DUPLICATE_WINDOW_SECONDS = 120.0


def subject_for(event_name: str) -> str:
    """simplebank.events.<EventName>: one subject per event type."""
    return EVENT_SUBJECT_PREFIX + event_name


def nats_servers(url: str) -> list[str]:
    """NATS_URL's servers: one, or every node of a cluster (comma-separated)."""
    return [server.strip() for server in url.split(",") if server.strip()]


def stream_replicas(url: str) -> int:
    """Three copies of the stream on a cluster of three or more, one on a single server."""
    return CLUSTER_REPLICAS if len(nats_servers(url)) >= CLUSTER_REPLICAS else 1


def inbox_prefix(client_name: str) -> str:
    return f"_INBOX.{client_name}"


class EventBus:
    """Owns the NATS connection. Starting never waits for NATS: a service comes up (and its
    outbox fills) while NATS is down, and the client connects whenever NATS appears."""

    def __init__(self, url: str, client_name: str, tls: MeshTls | None = None) -> None:
        self._url = url
        self._name = client_name
        self._tls = tls
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None
        self._reconnected = asyncio.Event()  # replaced by a new one at each reconnection

    async def _connect(self) -> None:
        async def on_disconnect() -> None:
            log.warning("nats disconnected", extra={"url": self._url})

        async def on_reconnect() -> None:
            log.info("nats reconnected", extra={"url": self._url})
            self._reconnected.set()
            self._reconnected = asyncio.Event()

        async def on_error(error: Exception) -> None:
            log.debug("nats connection error", extra={"error": str(error)})

        client = await nats.connect(
            # Every node of a cluster: the client fails over to another when one goes away.
            nats_servers(self._url),
            name=self._name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            error_cb=on_error,
            # With TLS the certificate is the login: NATS maps it to the service's user.
            tls=None if self._tls is None else self._tls.ssl_context(),
            # The server must show the NATS certificate, whatever name reached it (a cluster
            # node's own, an address it gossiped), as gRPC channels check the service's name.
            tls_hostname=None if self._tls is None else server_name(NATS_SERVER),
            # Replies come to _INBOX.<name>.>: the only inboxes the user may subscribe to.
            inbox_prefix=inbox_prefix(self._name),
        )
        js = client.jetstream(timeout=2.0)
        await self._create_stream(js)
        self._client, self._js = client, js
        self._ready.set()
        log.info("nats connected", extra={"url": self._url, "stream": STREAM})

    async def _create_stream(self, js: JetStreamContext) -> None:
        """Create (or find) the stream; retried, since a cluster that has just started answers
        only once it has elected its JetStream leader."""
        config = api.StreamConfig(
            name=STREAM,
            subjects=[SUBJECTS],
            storage=api.StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
            num_replicas=stream_replicas(self._url),
        )
        while True:
            try:
                await js.add_stream(config)
                return
            except (TimeoutError, nats.errors.Error) as error:
                log.warning("nats stream not created yet", extra={"error": repr(error)})
                await asyncio.sleep(STREAM_RETRY_SECONDS)

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect(), name="nats-connect")

    async def stop(self) -> None:
        if self._connecting and not self._connecting.done():
            self._connecting.cancel()
        if self._client is not None:
            # Not drain(): nats-py's pull fetch never marks its messages done, so drain waits
            # out its whole timeout. Consumers and the relay are stopped by now and every
            # publish waited for its ack, so there is nothing left to drain.
            try:
                await self._client.flush(timeout=1)
            except Exception:
                log.warning("nats flush failed", exc_info=True)
            await self._client.close()

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once connected (waits until then)."""
        await self._ready.wait()
        assert self._js is not None
        return self._js

    async def reconnected(self) -> None:
        """Wait until the connection is next made again, after the server it had went away:
        a pull request waiting on that server is gone with it (mesh.events.consumer)."""
        await self._reconnected.wait()

    async def publish(self, subject: str, payload: bytes, headers: Mapping[str, str]) -> None:
        """Publish and wait for JetStream's acknowledgement; raises if it does not come."""
        if not self.connected:
            raise ConnectionError("not connected to NATS")
        js = await self.jetstream()
        await js.publish(subject, payload, headers=dict(headers))

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def check(self) -> bool:
        """Health check: connected to NATS."""
        return self.connected
