"""NATS users from the services table: each publishes only its own events and dead letters."""

from __future__ import annotations

import json
from pathlib import Path

from mesh.topology import BY_NAME
from tests.support import REPO_ROOT
from tooling.launcher.nats_auth import (
    operator_permissions,
    provisioner_permissions,
    server_config,
    service_permissions,
    user_name,
)


def test_a_service_may_publish_its_own_events_and_dead_letters_only() -> None:
    allowed = service_permissions(BY_NAME["fees"])["publish"]["allow"]
    events = [subject for subject in allowed if subject.startswith("simplebank.")]

    assert events == [
        "simplebank.events.FeeCharged",
        "simplebank.events.FeeRefunded",
        "simplebank.deadletter.fees.>",
    ]


def test_a_service_reads_only_through_its_own_durable_and_inboxes() -> None:
    permissions = service_permissions(BY_NAME["accounts"])
    consumer_calls = [
        subject
        for subject in permissions["publish"]["allow"]
        if subject.startswith(("$JS.API.CONSUMER.", "$JS.ACK."))
    ]

    assert consumer_calls == [
        "$JS.API.CONSUMER.INFO.SIMPLEBANK.accounts",
        "$JS.API.CONSUMER.MSG.NEXT.SIMPLEBANK.accounts",
        "$JS.ACK.SIMPLEBANK.accounts.>",
    ]
    assert permissions["subscribe"] == {"allow": ["_INBOX.accounts.>"]}


def test_users_are_the_subjects_of_the_certificates() -> None:
    users = [user["user"] for user in server_config(Path("/certs"))["authorization"]["users"]]

    assert user_name("orders") == "CN=orders,O=SimpleBank mesh"
    assert user_name("operator") in users
    assert user_name("gateway") not in users  # the gateway neither publishes nor consumes


def test_the_compose_nats_config_is_the_launchers_for_the_certs_volume() -> None:
    committed = json.loads((REPO_ROOT / "config" / "nats" / "mesh.json").read_text())

    assert committed == server_config(Path("/certs"))


def test_no_service_may_create_or_delete_a_consumer() -> None:
    for service in BY_NAME.values():
        allowed = service_permissions(service)["publish"]["allow"]

        assert not [s for s in allowed if "CREATE" in s and "CONSUMER" in s], service.name
        assert not [s for s in allowed if "DELETE" in s], service.name


def test_the_provisioner_makes_each_durable_by_name_and_deletes_only_the_former_ones() -> None:
    permissions = provisioner_permissions()
    allowed = permissions["publish"]["allow"]
    creates = [s.rpartition(".")[2] for s in allowed if s.startswith("$JS.API.CONSUMER.CREATE.")]
    deletes = [s.rpartition(".")[2] for s in allowed if s.startswith("$JS.API.CONSUMER.DELETE.")]

    assert creates == ["orders", "accounts", "fees", "market"]
    assert sorted(deletes) == sorted(
        f"{service.name}-{event}" for service in BY_NAME.values() for event in service.consumes
    )
    assert not [s for s in allowed if s.startswith(("simplebank.", "$JS.ACK", "$JS.API.STREAM.D"))]
    assert not [s for s in allowed if "MSG.NEXT" in s or "MSG.GET" in s or "PURGE" in s]
    assert permissions["subscribe"] == {"allow": ["_INBOX.provisioner.>"]}
    users = server_config(Path("/certs"))["authorization"]["users"]
    assert {"user": user_name("provisioner"), "permissions": permissions} in users


def test_the_operator_reads_and_publishes_no_event_nor_ack() -> None:
    permissions = operator_permissions()
    allowed = permissions["publish"]["allow"]

    assert not [subject for subject in allowed if subject.startswith(("simplebank.", "$JS.ACK"))]
    assert not [subject for subject in allowed if "DELETE" in subject or "PURGE" in subject]
    assert "$JS.API.CONSUMER.CREATE.SIMPLEBANK" in allowed  # ephemeral readers only
    assert not [
        subject
        for subject in allowed
        if subject.startswith("$JS.API.CONSUMER.CREATE.S")
        and subject != "$JS.API.CONSUMER.CREATE.SIMPLEBANK"
    ]
    assert permissions["subscribe"] == {"allow": ["_INBOX.operator.>"]}
    users = server_config(Path("/certs"))["authorization"]["users"]
    assert {"user": user_name("operator"), "permissions": permissions} in users
