"""The per-customer token bucket: a burst, then the refill rate, each customer on their own;
failed logins throttled and logged per peer address; each customer's share of calls at once."""

from __future__ import annotations

import logging

import pytest

from mesh.errors.kinds import ResourceExhausted
from services.gateway.admission import CustomerConcurrency
from services.gateway.rate_limit import FailedLogins, RateLimiter, peer_address


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


def failed_login_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    return [
        (getattr(r, "peer", ""), getattr(r, "failures", 0))
        for r in caplog.records
        if r.getMessage() == "failed logins"
    ]


def test_a_peer_over_its_failed_logins_is_refused_until_the_window_ends() -> None:
    clock = Clock()
    logins = FailedLogins(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        logins.check("ipv4:10.0.0.7")
        logins.failed("ipv4:10.0.0.7")

    with pytest.raises(ResourceExhausted) as refused:
        logins.check("ipv4:10.0.0.7")
    logins.check("ipv4:10.0.0.8")  # another address is not held back
    clock.now += 60
    logins.check("ipv4:10.0.0.7")  # a new window

    assert refused.value.reason == "TOO_MANY_FAILED_LOGINS"
    assert refused.value.retry_after_seconds == 60
    assert refused.value.logged is False


def test_failed_logins_are_logged_once_per_peer_and_interval_with_their_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    logins = FailedLogins(max_failures=100, log_interval_seconds=10, clock=clock)
    caplog.set_level(logging.INFO)
    for _ in range(50):
        logins.failed("ipv4:10.0.0.7")
        clock.now += 0.1
    logins.failed("ipv4:10.0.0.9")
    clock.now += 10
    logins.failed("ipv4:10.0.0.7")

    assert failed_login_lines(caplog) == [
        ("ipv4:10.0.0.7", 1),
        ("ipv4:10.0.0.9", 1),
        ("ipv4:10.0.0.7", 50),  # the 49 not logged yet and this one
    ]


def test_failed_logins_remember_a_bounded_number_of_peers() -> None:
    logins = FailedLogins(max_failures=1, max_peers=3, clock=Clock())
    for n in range(10):
        logins.failed(f"ipv4:10.0.0.{n}")

    logins.check("ipv4:10.0.0.0")  # forgotten: the oldest made room
    with pytest.raises(ResourceExhausted):
        logins.check("ipv4:10.0.0.9")
    assert len(logins._peers) == 3


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:10.0.0.7:53211", "ipv4:10.0.0.7"),
        ("ipv6:[::1]:4000", "ipv6:[::1]"),
        ("unix:/tmp/socket", "unix:/tmp/socket"),
        ("", ""),
    ],
)
def test_a_peer_is_known_by_its_address_without_the_port(peer: str, address: str) -> None:
    assert peer_address(peer) == address


def test_one_customer_holds_at_most_its_share_of_calls_and_gets_it_back() -> None:
    concurrency = CustomerConcurrency(limit=2, retry_after_seconds=0.25)
    with concurrency.hold("bob"), concurrency.hold("bob"):
        with pytest.raises(ResourceExhausted) as refused, concurrency.hold("bob"):
            pass
        with concurrency.hold("alice"):
            assert concurrency.in_flight == {"bob": 2, "alice": 1}

    assert refused.value.reason == "CUSTOMER_OVERLOADED"
    assert refused.value.retry_after_seconds == 0.25
    assert concurrency.in_flight == {}
