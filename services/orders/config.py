"""Orders configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import Env, ServerConfig, StoreConfig


@dataclass(frozen=True)
class OrdersConfig:
    server: ServerConfig
    store: StoreConfig
    accounts_addr: str

    @classmethod
    def from_env(cls, env: Env) -> OrdersConfig:
        return cls(
            server=ServerConfig.from_env("orders", env),
            store=StoreConfig.from_env("orders", env),
            accounts_addr=env.service_addr("accounts"),
        )
