"""A per-customer rate limit at the edge: one token bucket per customer, refilled continuously."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mesh.errors.kinds import ResourceExhausted


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Each customer may make `burst` calls at once and `per_second` calls a second after that.

    A refused call starts nothing and tells the client, in RetryInfo, when a token will be
    there. `per_second` 0 turns the limit off (the benchmark's single customer).
    """

    def __init__(
        self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_second
        self._burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, customer_id: str) -> None:
        """Take a token for one call, or raise ResourceExhausted saying when to come back."""
        if self._rate <= 0:
            return
        now = self._clock()
        bucket = self._buckets.setdefault(customer_id, _Bucket(self._burst, now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = (1 - bucket.tokens) / self._rate
        raise ResourceExhausted(
            f"customer {customer_id} is over {self._rate:g} calls a second",
            reason="RATE_LIMITED",
            metadata={"customer_id": customer_id},
            retry_after_seconds=wait,
        )
