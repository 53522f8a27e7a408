"""Gateway configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import ConfigError, Env, ServerConfig
from services.gateway.domain import Customer, parse_tokens

DEMO_TOKENS = "alice-token=alice:acc-alice,bob-token=bob:acc-bob"
# `make run` and the tests set it (GATEWAY_DEMO_TOKENS=allow): the demo's tokens are accepted,
# and an unset GATEWAY_TOKENS means them. Anywhere else the tokens must be real ones.
DEMO_VARIABLE = "GATEWAY_DEMO_TOKENS"
# Tokens shipped in this repository (README, manifests): never a real customer's.
KNOWN_TOKENS = frozenset({"alice-token", "bob-token", "replace-me"})
MIN_TOKEN_LENGTH = 32


def demo_mode(env: Env) -> bool:
    """GATEWAY_DEMO_TOKENS=allow: the local demo (`make run`, the tests); unset: a deployment."""
    raw = env.text(DEMO_VARIABLE, "").lower()
    if raw not in ("", "allow"):
        raise ConfigError(f"{DEMO_VARIABLE}={raw!r}: expected allow (local demo only) or unset")
    return raw == "allow"


def checked_tokens(tokens: dict[str, Customer]) -> dict[str, Customer]:
    """Outside the demo: no token shipped in this repository, none shorter than 32 characters.
    The token itself is never echoed, only the customer it stands for."""
    for token, customer in tokens.items():
        if token in KNOWN_TOKENS:
            raise ConfigError(
                f"GATEWAY_TOKENS: the token of customer {customer.customer_id} is a demo or"
                f" placeholder token; set real ones (or {DEMO_VARIABLE}=allow for the local demo)"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"GATEWAY_TOKENS: the token of customer {customer.customer_id} is shorter than"
                f" {MIN_TOKEN_LENGTH} characters"
            )
    return tokens


# Calls one customer may have in progress at once (admission.CustomerConcurrency): a quarter of
# the default shared cap (32), so one customer's slow or flooding calls leave the others room,
# and cannot alone fail enough calls to orders to open the circuit every customer shares.
PER_CUSTOMER_IN_FLIGHT = 8


@dataclass(frozen=True)
class GatewayConfig:
    server: ServerConfig
    orders_addr: str
    accounts_addr: str
    market_addr: str
    tokens: dict[str, Customer]
    deadline_seconds: float
    max_in_flight: int
    max_in_flight_per_customer: int
    retry_after_seconds: float
    rate_per_second: float = 50.0  # per customer; 0: no limit
    rate_burst: int = 100

    @classmethod
    def from_env(cls, env: Env) -> GatewayConfig:
        """The gateway's settings; outside the demo, refused unless customers' tokens are real
        and reach it over TLS (its own certificate, or a proxy in front that terminates it)."""
        demo = demo_mode(env)
        # Set but blank is an error, not the demo tokens: credentials must not fail open.
        if env.is_set("GATEWAY_TOKENS") and not env.text("GATEWAY_TOKENS", ""):
            raise ConfigError("GATEWAY_TOKENS is set but empty: give token=customer:account,...")
        if not demo and not env.is_set("GATEWAY_TOKENS"):
            raise ConfigError(
                "GATEWAY_TOKENS is not set: give token=customer:account,... (tokens of"
                f" {MIN_TOKEN_LENGTH} characters or more), or {DEMO_VARIABLE}=allow for the"
                " local demo's tokens"
            )
        try:
            tokens = parse_tokens(env.text("GATEWAY_TOKENS", DEMO_TOKENS))
        except ValueError as error:
            raise ConfigError(f"GATEWAY_TOKENS: {error}") from None
        if not demo:
            tokens = checked_tokens(tokens)
        server = ServerConfig.from_env("gateway", env, public=True)
        if not demo and server.public_tls is None and not tls_terminated_in_front(env):
            raise ConfigError(
                "the public port would take tokens in plaintext: give GATEWAY_TLS_CERT and"
                f" GATEWAY_TLS_KEY, or {TLS_IN_FRONT_VARIABLE}={TLS_IN_FRONT} where a"
                " TLS-terminating proxy alone reaches it"
            )
        return cls(
            server=server,
            orders_addr=env.service_addr("orders"),
            accounts_addr=env.service_addr("accounts"),
            market_addr=env.service_addr("market"),
            tokens=tokens,
            deadline_seconds=env.number("GATEWAY_DEADLINE_SECONDS", 2.0, minimum=0.01),
            max_in_flight=env.integer("GATEWAY_MAX_IN_FLIGHT", 32, minimum=1),
            max_in_flight_per_customer=env.integer(
                "GATEWAY_MAX_IN_FLIGHT_PER_CUSTOMER", PER_CUSTOMER_IN_FLIGHT, minimum=1
            ),
            retry_after_seconds=env.number("GATEWAY_RETRY_AFTER_SECONDS", 0.5, minimum=0.0),
            rate_per_second=env.number("GATEWAY_RATE_LIMIT_PER_SECOND", 50.0),
            rate_burst=env.integer("GATEWAY_RATE_LIMIT_BURST", 100, minimum=1),
        )


# Outside the demo a deployment states how customers' tokens are kept off the wire in clear:
# the gateway's own certificate, or this, when a TLS-terminating proxy alone reaches the port.
TLS_IN_FRONT_VARIABLE, TLS_IN_FRONT = "GATEWAY_PUBLIC_TLS", "terminated-in-front"


def tls_terminated_in_front(env: Env) -> bool:
    value = env.text(TLS_IN_FRONT_VARIABLE, "")
    if value not in ("", TLS_IN_FRONT):
        raise ConfigError(f"{TLS_IN_FRONT_VARIABLE}={value!r}: the one value is {TLS_IN_FRONT}")
    return value == TLS_IN_FRONT
