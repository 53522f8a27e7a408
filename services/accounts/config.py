"""Accounts configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import Env, ServerConfig, StoreConfig
from services.accounts.domain import Account
from services.accounts.seed import load_seed


@dataclass(frozen=True)
class AccountsConfig:
    server: ServerConfig
    store: StoreConfig
    seed: list[Account]

    @classmethod
    def from_env(cls, env: Env) -> AccountsConfig:
        return cls(
            server=ServerConfig.from_env("accounts", env),
            store=StoreConfig.from_env("accounts", env),
            seed=load_seed(env.text("ACCOUNTS_SEED_FILE", "")),
        )
