"""Market configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import Env, ServerConfig, StoreConfig


@dataclass(frozen=True)
class MarketConfig:
    server: ServerConfig
    store: StoreConfig
    halted_symbols: frozenset[str]
    execution_delay: float

    @classmethod
    def from_env(cls, env: Env) -> MarketConfig:
        halted = env.text("MARKET_HALTED_SYMBOLS", "")
        return cls(
            server=ServerConfig.from_env("market", env),
            store=StoreConfig.from_env("market", env),
            halted_symbols=frozenset(s.strip().upper() for s in halted.split(",") if s.strip()),
            execution_delay=env.number("MARKET_EXECUTION_DELAY_SECONDS", 0.2),
        )
