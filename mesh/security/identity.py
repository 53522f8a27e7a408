"""Who is calling: the SPIFFE id spiffe://simplebank.local/<name> in the caller's certificate."""

from __future__ import annotations

from typing import Any

TRUST_DOMAIN = "simplebank.local"
SPIFFE_PREFIX = f"spiffe://{TRUST_DOMAIN}/"
# A service's certificate also names it <service>.simplebank.local: the name its callers'
# TLS handshake checks (gRPC checks DNS names and IP addresses, not URIs).
DNS_SUFFIX = f".{TRUST_DOMAIN}"
OPERATOR = "operator"  # people, with grpcurl
PROBE = "probe"  # health checks: the launcher, the blackbox exporter, container probes
PROVISIONER = "provisioner"  # makes the event stream and each service's durable consumer
NATS_SERVER = "nats"
ANONYMOUS = "anonymous"  # a caller without a certificate of the mesh


def spiffe_id(name: str) -> str:
    return SPIFFE_PREFIX + name


def server_name(service: str) -> str:
    """The DNS name a channel to `service` expects in the server's certificate."""
    return service + DNS_SUFFIX


def caller_of(context: Any) -> str:
    """The identity name in the peer certificate's SPIFFE id, or ANONYMOUS.

    gRPC has already checked the certificate against the mesh CA when the connection was made;
    this reads which identity the CA gave it. A certificate with no id of our trust domain is
    anonymous, whatever else it says.
    """
    auth = context.auth_context() or {}
    # grpc core sets peer_spiffe_id when the certificate holds exactly one SPIFFE URI.
    for raw in auth.get("peer_spiffe_id", ()):
        value = bytes(raw).decode()
        name = value.removeprefix(SPIFFE_PREFIX)
        if value.startswith(SPIFFE_PREFIX) and name and "/" not in name:
            return name
    return ANONYMOUS
