"""nats-server configuration for the mesh: TLS only, one user per service, known by its certificate.

A client's certificate is its login (`verify_and_map`): NATS maps the certificate's subject,
CN=<service>,O=SimpleBank mesh, to the user of that name, so no password exists to leak or
rotate. Each service's user may publish only the events it owns (mesh/topology.py) and its own
dead letters, and read only through its own durable consumers, each created over its own event's
subject alone. The operator (people, tests) may read: the stream's state and messages, the
consumers' state, and ephemeral consumers of its own; it may publish no event, create no durable
consumer, and delete nothing. docs/security.md says why, and how a dead letter is replayed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh.events.bus import DEAD_LETTER_PREFIX, STREAM, inbox_prefix, subject_for
from mesh.security.identity import NATS_SERVER, OPERATOR
from mesh.topology import SERVICES, ServiceInfo

ORGANIZATION = "SimpleBank mesh"  # as tooling/cli/certs.py writes it
API = "$JS.API"


def user_name(identity: str) -> str:
    """The subject of the identity's certificate, as NATS writes it (RFC 2253)."""
    return f"CN={identity},O={ORGANIZATION}"


def service_permissions(service: ServiceInfo) -> dict[str, Any]:
    """Publish its events, its dead letters, and the JetStream API calls of its consumers."""
    publish = [subject_for(event) for event in service.publishes]
    publish += [f"{DEAD_LETTER_PREFIX}{service.name}.>"]
    publish += [f"{API}.INFO", f"{API}.STREAM.CREATE.{STREAM}", f"{API}.STREAM.INFO.{STREAM}"]
    for event in service.consumes:
        durable = f"{service.name}-{event}"  # mesh/events/consumer.py names them so
        publish += [
            f"{API}.CONSUMER.INFO.{STREAM}.{durable}",
            # Only the create subject that names the filter (nats-server 2.9+; nats-py uses it
            # when the consumer has one filter subject): the server refuses a request whose
            # filter differs from the subject's, so the durable reads its own event and no
            # other. CONSUMER.CREATE.<stream>.<durable> without a filter, and the legacy
            # CONSUMER.DURABLE.CREATE, would let it create its durable over simplebank.>.
            f"{API}.CONSUMER.CREATE.{STREAM}.{durable}.{subject_for(event)}",
            f"{API}.CONSUMER.MSG.NEXT.{STREAM}.{durable}",
            f"$JS.ACK.{STREAM}.{durable}.>",
        ]
    return {
        "publish": {"allow": publish},
        # Messages of its consumers and answers to its requests come to its own inboxes.
        "subscribe": {"allow": [f"{inbox_prefix(service.name)}.>"]},
    }


def operator_permissions() -> dict[str, Any]:
    """Read, never write: what `make` targets, the runbooks and the tests ask of NATS.

    The stream's state and messages (STREAM.INFO, MSG.GET, DIRECT.GET), the consumers' state
    (INFO, LIST, NAMES), and ephemeral consumers of its own to read the stream with: a create
    without a consumer name makes an ephemeral one only (the server refuses a durable name
    there), delivered to the operator's own inboxes.
    """
    publish = [
        f"{API}.INFO",
        f"{API}.STREAM.NAMES",
        f"{API}.STREAM.LIST",
        f"{API}.STREAM.INFO.{STREAM}",
        f"{API}.STREAM.MSG.GET.{STREAM}",
        f"{API}.DIRECT.GET.{STREAM}",
        f"{API}.DIRECT.GET.{STREAM}.>",
        f"{API}.CONSUMER.LIST.{STREAM}",
        f"{API}.CONSUMER.NAMES.{STREAM}",
        f"{API}.CONSUMER.INFO.{STREAM}.*",
        f"{API}.CONSUMER.CREATE.{STREAM}",
        f"$JS.FC.{STREAM}.>",  # an ordered consumer's flow-control replies
    ]
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": [f"{inbox_prefix(OPERATOR)}.>"]},
    }


def server_config(certs_dir: Path) -> dict[str, Any]:
    users = [
        {"user": user_name(service.name), "permissions": service_permissions(service)}
        for service in SERVICES
        if service.publishes or service.consumes
    ]
    users.append({"user": user_name(OPERATOR), "permissions": operator_permissions()})
    return {
        "tls": {
            "cert_file": str(certs_dir / f"{NATS_SERVER}.crt"),
            "key_file": str(certs_dir / f"{NATS_SERVER}.key"),
            "ca_file": str(certs_dir / "ca.crt"),
            "verify_and_map": True,
            "timeout": 2,
        },
        "authorization": {"users": users},
    }


def write_config(path: Path, certs_dir: Path) -> Path:
    """nats-server reads JSON as its configuration format; the command line adds the ports."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(server_config(certs_dir), indent=2) + "\n")
    return path
