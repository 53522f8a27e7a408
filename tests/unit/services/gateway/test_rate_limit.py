"""The per-customer token bucket: a burst, then the refill rate, each customer on their own."""

from __future__ import annotations

import pytest

from mesh.errors.kinds import ResourceExhausted
from services.gateway.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_customer_may_spend_the_burst_at_once_and_then_waits_for_the_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.admit("alice")

    with pytest.raises(ResourceExhausted) as refused:
        limiter.admit("alice")

    assert refused.value.reason == "RATE_LIMITED"
    assert refused.value.metadata == {"customer_id": "alice"}
    assert refused.value.retry_after_seconds == pytest.approx(0.5)
    clock.now += 0.5
    limiter.admit("alice")


def test_one_customer_over_the_limit_does_not_slow_another() -> None:
    limiter = RateLimiter(per_second=1, burst=1, clock=Clock())
    limiter.admit("alice")

    with pytest.raises(ResourceExhausted):
        limiter.admit("alice")
    limiter.admit("bob")


def test_the_bucket_never_holds_more_than_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=10, burst=2, clock=clock)
    clock.now += 3600
    limiter.admit("alice")
    limiter.admit("alice")

    with pytest.raises(ResourceExhausted):
        limiter.admit("alice")


def refused(limiter: RateLimiter, customer_id: str, calls: int) -> int:
    """How many of `calls` calls at one moment the limiter refuses."""
    count = 0
    for _ in range(calls):
        try:
            limiter.admit(customer_id)
        except ResourceExhausted:
            count += 1
    return count


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    # The same burst with a rate refuses all but one of the calls made at one moment.
    assert refused(RateLimiter(per_second=1, burst=1, clock=Clock()), "bench", 1000) == 999

    assert refused(RateLimiter(per_second=0, burst=1, clock=Clock()), "bench", 1000) == 0
