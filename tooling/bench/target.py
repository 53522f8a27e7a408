"""A target the benchmark reports against (docs/performance.md): reported, never asserted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None  # None: not measured (a metric no process exports)
    limit: float
    unit: str
    at_most: bool = True  # the value must stay under the limit (else: reach it)
    issue: int = 17  # the issue that set it

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit
