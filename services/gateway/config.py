"""Gateway configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import ConfigError, Env, ServerConfig
from services.gateway.domain import Customer, parse_tokens

DEMO_TOKENS = "alice-token=alice:acc-alice,bob-token=bob:acc-bob"


@dataclass(frozen=True)
class GatewayConfig:
    server: ServerConfig
    orders_addr: str
    accounts_addr: str
    market_addr: str
    tokens: dict[str, Customer]
    deadline_seconds: float
    max_in_flight: int
    retry_after_seconds: float
    rate_per_second: float = 50.0  # per customer; 0: no limit
    rate_burst: int = 100

    @classmethod
    def from_env(cls, env: Env) -> GatewayConfig:
        # Set but blank is an error, not the demo tokens: credentials must not fail open.
        if env.is_set("GATEWAY_TOKENS") and not env.text("GATEWAY_TOKENS", ""):
            raise ConfigError("GATEWAY_TOKENS is set but empty: give token=customer:account,...")
        try:
            tokens = parse_tokens(env.text("GATEWAY_TOKENS", DEMO_TOKENS))
        except ValueError as error:
            raise ConfigError(f"GATEWAY_TOKENS: {error}") from None
        return cls(
            server=ServerConfig.from_env("gateway", env, public=True),
            orders_addr=env.service_addr("orders"),
            accounts_addr=env.service_addr("accounts"),
            market_addr=env.service_addr("market"),
            tokens=tokens,
            deadline_seconds=env.number("GATEWAY_DEADLINE_SECONDS", 2.0, minimum=0.01),
            max_in_flight=env.integer("GATEWAY_MAX_IN_FLIGHT", 32, minimum=1),
            retry_after_seconds=env.number("GATEWAY_RETRY_AFTER_SECONDS", 0.5, minimum=0.0),
            rate_per_second=env.number("GATEWAY_RATE_LIMIT_PER_SECOND", 50.0),
            rate_burst=env.integer("GATEWAY_RATE_LIMIT_BURST", 100, minimum=1),
        )
