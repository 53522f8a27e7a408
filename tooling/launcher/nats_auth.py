"""nats-server configuration for the mesh: TLS only, one user per service, known by its certificate.

A client's certificate is its login (`verify_and_map`): NATS maps the certificate's subject,
CN=<service>,O=SimpleBank mesh, to the user of that name, so no password exists to leak or
rotate. Each service's user may publish only the events it owns (mesh/topology.py) and its own
dead letters, and read only through its own durable consumer, which it cannot create: the
provisioner makes it over the service's event subjects (mesh/events/durables.py), and may do
nothing else. The operator (people, tests) may read: the stream's state and messages, the
consumers' state, and ephemeral consumers of its own; it may publish no event, create no durable
consumer, and delete nothing. docs/security.md says why, and how a dead letter is replayed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh.events.bus import DEAD_LETTER_PREFIX, STREAM, inbox_prefix, subject_for
from mesh.events.durables import durable_name, former_durables
from mesh.security.identity import NATS_SERVER, OPERATOR, PROVISIONER
from mesh.topology import SERVICES, ServiceInfo

ORGANIZATION = "SimpleBank mesh"  # as tooling/cli/certs.py writes it
API = "$JS.API"


def user_name(identity: str) -> str:
    """The subject of the identity's certificate, as NATS writes it (RFC 2253)."""
    return f"CN={identity},O={ORGANIZATION}"


def service_permissions(service: ServiceInfo) -> dict[str, Any]:
    """Publish its events, its dead letters, and the JetStream API calls of its consumer: read
    its durable's state, pull from it and ack. No create: a durable over several subjects can be
    created with any filter (nats-server issue 6180), so the provisioner makes it."""
    publish = [subject_for(event) for event in service.publishes]
    publish += [f"{DEAD_LETTER_PREFIX}{service.name}.>"]
    publish += [f"{API}.INFO", f"{API}.STREAM.CREATE.{STREAM}", f"{API}.STREAM.INFO.{STREAM}"]
    if service.consumes:
        durable = durable_name(service.name)
        publish += [
            f"{API}.CONSUMER.INFO.{STREAM}.{durable}",
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


def provisioner_permissions() -> dict[str, Any]:
    """Make the stream and each service's durable, by name, and delete the durables of the
    layout before (mesh/events/durables.py); read nothing, publish no event, ack nothing."""
    publish = [f"{API}.INFO", f"{API}.STREAM.CREATE.{STREAM}", f"{API}.STREAM.INFO.{STREAM}"]
    for service in SERVICES:
        if not service.consumes:
            continue
        durable = durable_name(service.name)
        publish += [f"{API}.CONSUMER.INFO.{STREAM}.{durable}"]
        publish += [f"{API}.CONSUMER.CREATE.{STREAM}.{durable}"]
        for former in former_durables(service):
            publish += [f"{API}.CONSUMER.INFO.{STREAM}.{former}"]
            publish += [f"{API}.CONSUMER.DELETE.{STREAM}.{former}"]
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": [f"{inbox_prefix(PROVISIONER)}.>"]},
    }


def server_config(certs_dir: Path) -> dict[str, Any]:
    users = [
        {"user": user_name(service.name), "permissions": service_permissions(service)}
        for service in SERVICES
        if service.publishes or service.consumes
    ]
    users.append({"user": user_name(OPERATOR), "permissions": operator_permissions()})
    users.append({"user": user_name(PROVISIONER), "permissions": provisioner_permissions()})
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
