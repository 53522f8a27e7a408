"""NATS users from the services table: each publishes only its own events and dead letters."""

from __future__ import annotations

import json
from pathlib import Path

from mesh.topology import BY_NAME
from tests.support import REPO_ROOT
from tooling.launcher.nats_auth import server_config, service_permissions, user_name


def test_a_service_may_publish_its_own_events_and_dead_letters_only() -> None:
    allowed = service_permissions(BY_NAME["fees"])["publish"]["allow"]
    events = [subject for subject in allowed if subject.startswith("simplebank.")]

    assert events == [
        "simplebank.events.FeeCharged",
        "simplebank.events.FeeRefunded",
        "simplebank.deadletter.fees.>",
    ]


def test_a_service_reads_only_through_its_own_consumers_and_inboxes() -> None:
    permissions = service_permissions(BY_NAME["accounts"])
    consumers = {
        subject.split(".")[-1]
        for subject in permissions["publish"]["allow"]
        if subject.startswith("$JS.API.CONSUMER.MSG.NEXT.")
    }

    assert consumers == {f"accounts-{event}" for event in BY_NAME["accounts"].consumes}
    assert permissions["subscribe"] == {"allow": ["_INBOX.accounts.>"]}


def test_users_are_the_subjects_of_the_certificates() -> None:
    users = [user["user"] for user in server_config(Path("/certs"))["authorization"]["users"]]

    assert user_name("orders") == "CN=orders,O=SimpleBank mesh"
    assert user_name("operator") in users
    assert user_name("gateway") not in users  # the gateway neither publishes nor consumes


def test_the_compose_nats_config_is_the_launchers_for_the_certs_volume() -> None:
    committed = json.loads((REPO_ROOT / "config" / "nats" / "mesh.json").read_text())

    assert committed == server_config(Path("/certs"))
