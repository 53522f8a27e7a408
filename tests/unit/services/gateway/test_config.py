"""Unit tests for the gateway's configuration: tokens from the environment, refused when wrong."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError, Env
from services.gateway.config import GatewayConfig
from services.gateway.domain import Customer


def config(**environ: str) -> GatewayConfig:
    return GatewayConfig.from_env(Env(environ))


def test_without_tokens_the_demo_customers_may_call() -> None:
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


def test_a_deadline_too_short_to_answer_in_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_DEADLINE_SECONDS"):
        config(GATEWAY_DEADLINE_SECONDS="0")


def test_the_upstream_addresses_come_from_their_addr_variables() -> None:
    settings = config(ORDERS_ADDR="orders:50052", MARKET_ADDR="market:50055")

    assert (settings.orders_addr, settings.market_addr) == ("orders:50052", "market:50055")
    assert settings.accounts_addr == "127.0.0.1:50053"
