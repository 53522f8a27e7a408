"""What a fault is, and the faults a service starts with: OPS_FAULTS_ENABLED and OPS_FAULTS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ENABLED_VARIABLE = "OPS_FAULTS_ENABLED"
FAULTS_VARIABLE = "OPS_FAULTS"
EXAMPLE = '[{"target": "/simplebank.accounts.v1.AccountService/ReserveHoldings", "percent": 50}]'


@dataclass(frozen=True)
class Fault:
    """Delay, then fail with `error_code` (a gRPC status name; "" to delay only), `percent` of
    the calls to one RPC or of the events on one subject (`target`)."""

    target: str
    delay_ms: int = 0
    error_code: str = ""
    percent: int = 100
    seed: int | None = None

    @property
    def kind(self) -> str:
        return "error" if self.error_code else "delay"


@dataclass(frozen=True)
class FaultSettings:
    """Off unless OPS_FAULTS_ENABLED=true; OPS_FAULTS (a JSON list of faults) sets some at start."""

    enabled: bool = False
    initial: tuple[Fault, ...] = ()

    @classmethod
    def parse(cls, enabled: str, faults: str) -> FaultSettings:
        """From the two variables' values; ValueError, naming the variable, for a bad one."""
        flag = enabled.strip().lower() or "false"
        if flag not in ("true", "false"):
            raise ValueError(f"{ENABLED_VARIABLE}={enabled!r}: expected true or false")
        initial = parse_faults(faults) if faults.strip() else ()
        if initial and flag != "true":
            raise ValueError(f"{FAULTS_VARIABLE} is set but {ENABLED_VARIABLE} is not true")
        return cls(enabled=flag == "true", initial=initial)


def parse_faults(raw: str) -> tuple[Fault, ...]:
    """OPS_FAULTS as faults; ValueError naming the variable when it is not a list of them.

    Whether each target, status name and percent is one the service accepts is checked where
    the faults are put in force (mesh.faults.in_force), with the same words as for SetFault.
    """
    try:
        items = json.loads(raw)
        if not isinstance(items, list):
            raise TypeError("not a list")
        return tuple(_fault(item) for item in items)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(
            f"{FAULTS_VARIABLE}={raw!r}: expected a JSON list of faults ({error}), e.g. {EXAMPLE}"
        ) from None


def _fault(item: Any) -> Fault:
    if not isinstance(item, dict):
        raise TypeError(f"{item!r} is not an object")
    unknown = set(item) - {"target", "delay_ms", "error_code", "percent", "seed"}
    if unknown:
        raise KeyError(f"unknown field {sorted(unknown)[0]}")
    seed = item.get("seed")
    return Fault(
        target=str(item["target"]),
        delay_ms=_whole(item.get("delay_ms", 0), "delay_ms"),
        error_code=str(item.get("error_code", "")),
        percent=_whole(item.get("percent", 100), "percent"),
        seed=None if seed is None else _whole(seed, "seed"),
    )


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    return value
