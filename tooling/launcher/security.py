"""`make run`'s certificates and NATS users, made before anything starts; health-check channels."""

from __future__ import annotations

import grpc

from mesh.health.check import health_channel
from tooling.cli import certs
from tooling.launcher import nats_auth
from tooling.launcher.readiness import QUICK_RECONNECT
from tooling.launcher.settings import Settings


def prepare(settings: Settings) -> list[str]:
    """Issue the certificates that are missing or past half their life, and write nats-server's
    configuration; returns what was issued. Nothing to do with MESH_TLS=off."""
    if not settings.mesh_tls:
        return []
    issued = certs.ensure(settings.certs_dir)
    nats_auth.write_config(settings.nats_config, settings.certs_dir)
    return issued


def health_channel_to(settings: Settings, name: str, address: str) -> grpc.Channel:
    """To service `name` at `address` (one replica): internal services are checked as the probe
    identity; the gateway's public port in plaintext, unless GATEWAY_TLS=true."""
    secured = settings.mesh_tls and (name != "gateway" or settings.gateway_tls)
    return health_channel(address, name if secured else "", settings.certs_dir, QUICK_RECONNECT)
