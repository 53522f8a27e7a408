"""The main() shared by every service: config, logs, tracing, then serve until signalled."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

from mesh.config import ConfigError, Env
from mesh.logs import configure_logging
from mesh.server import Service, ServiceHost
from tracing.setup import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)


def run(name: str, build: Callable[[Env], Service]) -> None:
    """Run one service process; a configuration error exits 2 with a message, not a trace."""
    env = Env()
    try:
        service = build(env)
    except (ConfigError, ValueError) as error:
        print(f"{name}: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(name, service.config.log_level)
    provider = configure_tracing(name)
    try:
        asyncio.run(ServiceHost(service).run_until_signalled())
    finally:
        shutdown_tracing(provider)
