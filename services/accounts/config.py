"""Accounts configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import Env, ServerConfig, StoreConfig


@dataclass(frozen=True)
class AccountsConfig:
    server: ServerConfig
    store: StoreConfig

    @classmethod
    def from_env(cls, env: Env) -> AccountsConfig:
        return cls(
            server=ServerConfig.from_env("accounts", env),
            store=StoreConfig.from_env("accounts", env),
        )
