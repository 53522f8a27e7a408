"""`python -m mesh.events.provision`: make the event stream and every service's durable consumer,
then exit; 0 once they are in place, 1 if NATS did not answer in time, 2 for a bad setting.

Run before the services need their durables (a service waits for its own, saying so), and again
at each upgrade: it is idempotent, and it moves a service from the former one-durable-per-event
layout to its one durable (mesh.events.durables). It connects as the `provisioner` identity,
the only one NATS lets create a durable (tooling/launcher/nats_auth.py).

Settings: NATS_URL, MESH_TLS and MESH_CERTS_DIR as a service reads them, and
CONSUMER_ACK_WAIT_SECONDS, how long JetStream waits for an ack before delivering again.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

import nats.errors
from nats.js import JetStreamContext

from mesh.config import ConfigError, Env
from mesh.events.bus import EventBus
from mesh.events.durables import ACK_WAIT_SECONDS, provision
from mesh.logs import configure_logging
from mesh.security.identity import PROVISIONER

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60.0  # NATS (a cluster electing its JetStream leader) must answer by then
RETRY_SECONDS = 0.5


async def provision_retrying(
    js: JetStreamContext,
    ack_wait: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[str]:
    """Provision, again after a request NATS did not answer (a cluster still electing the
    leader of the stream or of a durable), until it is done; the caller bounds the time."""
    while True:
        try:
            return await provision(js, ack_wait)
        except (TimeoutError, nats.errors.Error) as error:
            log.warning("provisioning failed, trying again", extra={"error": repr(error)})
            await sleep(RETRY_SECONDS)


async def provision_with(env: Env, within: float = TIMEOUT_SECONDS) -> list[str]:
    """Connect as the provisioner (the EventBus makes the stream), provision, disconnect;
    TimeoutError if NATS has not let it by `within` seconds."""
    ack_wait = env.number("CONSUMER_ACK_WAIT_SECONDS", ACK_WAIT_SECONDS, minimum=0.1)
    bus = EventBus(env.nats_url(), PROVISIONER, env.nats_tls(PROVISIONER))
    await bus.start()
    try:
        async with asyncio.timeout(within):
            return await provision_retrying(await bus.jetstream(), ack_wait)
    finally:
        await bus.stop()


def main() -> int:
    env = Env()
    configure_logging(PROVISIONER, "INFO")
    try:
        done = asyncio.run(provision_with(env))
    except ConfigError as error:
        print(f"provision: configuration error: {error}", file=sys.stderr)
        return 2
    except TimeoutError:
        print(f"provision: NATS did not answer within {TIMEOUT_SECONDS:g}s", file=sys.stderr)
        return 1
    log.info("event stream and durable consumers in place", extra={"done": "; ".join(done)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
