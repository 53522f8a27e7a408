"""The main() every service shares: config, logs, tracing, metrics, then serve until signalled."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

from mesh.config import ConfigError, Env
from mesh.logs import configure_logging
from mesh.server import Service, ServiceHost
from mesh.topology import BY_NAME
from tracing.log_shipping import configure_log_shipping, shutdown_log_shipping
from tracing.metrics import MetricsEndpoint, configure_metrics, metrics_enabled
from tracing.setup import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)


async def _serve(name: str, build: Callable[[Env], Service]) -> None:
    # Metrics first: instruments made while the service is built start recording at once.
    registry = configure_metrics(name) if metrics_enabled() else None
    # Built inside the running loop: gRPC channels and asyncio primitives bind to it.
    service = build(Env())
    for tls in (service.config.tls, service.config.public_tls):
        if tls is None:
            continue
        try:  # name the file now rather than fail at the first handshake
            tls.check()
        except OSError as error:
            raise ConfigError(str(error)) from None
    configure_logging(name, service.config.log_level)
    provider = configure_tracing(name)
    shipping = configure_log_shipping(name)
    endpoint = None
    if registry is not None and service.config.metrics_addr:
        endpoint = MetricsEndpoint(
            BY_NAME[name].metrics_variable, service.config.metrics_addr, registry
        )
        await endpoint.start()
    try:
        await ServiceHost(service).run_until_signalled()
    finally:
        if endpoint is not None:
            await endpoint.stop()
        shutdown_log_shipping(shipping)
        shutdown_tracing(provider)


def run(name: str, build: Callable[[Env], Service]) -> None:
    """Run one service process.

    A ConfigError exits 2 with its message alone: the person fixes a variable, a traceback would
    only hide the message. An OSError (say, the port is taken) exits 1 with one line saying so,
    after its traceback is logged. Anything else is a bug and keeps Python's own traceback.
    """
    try:
        asyncio.run(_serve(name, build))
    except ConfigError as error:
        print(f"{name}: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as error:
        log.exception("stopped by an OS error")
        print(f"{name}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
