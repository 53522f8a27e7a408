"""What a channel dials and how it balances: one address as given, replicas round-robin."""

from __future__ import annotations

import json

import pytest

from mesh.calls.channels import CallPolicy, channel_target


def test_one_address_is_dialled_as_given() -> None:
    assert channel_target("127.0.0.1:50054") == "127.0.0.1:50054"


def test_replicas_are_dialled_as_an_ipv4_list() -> None:
    assert channel_target("127.0.0.1:6054,127.0.0.1:6154") == "ipv4:127.0.0.1:6054,127.0.0.1:6154"


def test_a_list_of_names_is_refused() -> None:
    with pytest.raises(ValueError, match="IPv4"):
        channel_target("fees-0:50054,fees-1:50054")


def test_a_balanced_channel_goes_round_robin_over_healthy_replicas() -> None:
    config = json.loads(CallPolicy().service_config(balanced=True))

    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {"serviceName": ""}
    assert "loadBalancingConfig" not in json.loads(CallPolicy().service_config())
