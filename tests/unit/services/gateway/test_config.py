"""Unit tests for the gateway's configuration: tokens from the environment, refused when wrong."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError, Env
from services.gateway.config import GatewayConfig
from services.gateway.domain import Customer

DEMO = {"GATEWAY_DEMO_TOKENS": "allow"}
REAL = "r" * 32
TLS_IN_FRONT = {"GATEWAY_PUBLIC_TLS": "terminated-in-front"}


def config(**environ: str) -> GatewayConfig:
    """The gateway's configuration in the local demo (`make run` and the tests)."""
    return GatewayConfig.from_env(Env(DEMO | environ))


def deployed(**environ: str) -> GatewayConfig:
    """The gateway's configuration anywhere else: no GATEWAY_DEMO_TOKENS."""
    return GatewayConfig.from_env(Env(environ))


def test_in_the_demo_without_tokens_the_demo_customers_may_call() -> None:
    assert config().tokens == {
        "alice-token": Customer("alice", frozenset({"acc-alice"})),
        "bob-token": Customer("bob", frozenset({"acc-bob"})),
    }


def test_tokens_set_in_the_environment_replace_the_demo_ones() -> None:
    tokens = config(GATEWAY_TOKENS="s3cret=carol:acc-carol").tokens

    assert tokens == {"s3cret": Customer("carol", frozenset({"acc-carol"}))}


@pytest.mark.parametrize("spec", ["nonsense", "t=carol", "t=carol:acc-1,t=dave:acc-2"])
def test_malformed_tokens_are_refused_naming_the_variable(spec: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_TOKENS"):
        config(GATEWAY_TOKENS=spec)


def test_tokens_set_but_blank_are_refused_rather_than_replaced_by_the_demo_tokens() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_TOKENS"):
        config(GATEWAY_TOKENS=" ")


def test_outside_the_demo_unset_tokens_stop_the_gateway() -> None:
    with pytest.raises(ConfigError, match=r"^GATEWAY_TOKENS is not set: .*GATEWAY_DEMO_TOKENS"):
        deployed()


@pytest.mark.parametrize(
    "spec",
    [
        "alice-token=alice:acc-alice,bob-token=bob:acc-bob",
        "replace-me=nobody:acc-nobody",
        f"{REAL}=carol:acc-carol,bob-token=bob:acc-bob",
    ],
)
def test_outside_the_demo_a_demo_or_placeholder_token_stops_the_gateway(spec: str) -> None:
    with pytest.raises(ConfigError, match="demo or placeholder token") as refused:
        deployed(GATEWAY_TOKENS=spec)

    assert "-token" not in str(refused.value)
    assert "replace-me" not in str(refused.value)


def test_outside_the_demo_a_short_token_stops_the_gateway_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="customer carol is shorter than 32") as refused:
        deployed(GATEWAY_TOKENS=f"{REAL[:31]}=carol:acc-carol")

    assert REAL[:31] not in str(refused.value)


def test_outside_the_demo_long_real_tokens_are_taken() -> None:
    tokens = deployed(GATEWAY_TOKENS=f"{REAL}=carol:acc-carol", **TLS_IN_FRONT).tokens

    assert tokens == {REAL: Customer("carol", frozenset({"acc-carol"}))}


def test_outside_the_demo_a_plaintext_public_port_stops_the_gateway() -> None:
    with pytest.raises(ConfigError, match=r"^the public port would take tokens in plaintext"):
        deployed(GATEWAY_TOKENS=f"{REAL}=carol:acc-carol")


def test_tls_in_front_takes_only_its_one_value() -> None:
    with pytest.raises(ConfigError, match=r"^GATEWAY_PUBLIC_TLS='yes': the one value is"):
        deployed(GATEWAY_TOKENS=f"{REAL}=carol:acc-carol", GATEWAY_PUBLIC_TLS="yes")


def test_demo_mode_takes_only_allow() -> None:
    with pytest.raises(ConfigError, match=r"^GATEWAY_DEMO_TOKENS='yes': expected allow"):
        deployed(GATEWAY_DEMO_TOKENS="yes", GATEWAY_TOKENS=f"{REAL}=carol:acc-carol")


def test_a_deadline_too_short_to_answer_in_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_DEADLINE_SECONDS"):
        config(GATEWAY_DEADLINE_SECONDS="0")


def test_the_upstream_addresses_come_from_their_addr_variables() -> None:
    settings = config(ORDERS_ADDR="orders:50052", MARKET_ADDR="market:50055")

    assert (settings.orders_addr, settings.market_addr) == ("orders:50052", "market:50055")
    assert settings.accounts_addr == "127.0.0.1:50053"
