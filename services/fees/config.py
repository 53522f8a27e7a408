"""Fees configuration, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.config import Env, ServerConfig, StoreConfig
from services.fees.domain import FeeSchedule


@dataclass(frozen=True)
class FeesConfig:
    server: ServerConfig
    store: StoreConfig
    schedule: FeeSchedule

    @classmethod
    def from_env(cls, env: Env) -> FeesConfig:
        return cls(
            server=ServerConfig.from_env("fees", env),
            store=StoreConfig.from_env("fees", env),
            schedule=FeeSchedule(
                flat=env.integer("FEES_FLAT_MINOR_UNITS", 100),
                basis_points=env.integer("FEES_BASIS_POINTS", 10),
            ),
        )
