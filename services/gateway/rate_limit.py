"""Limits at the edge: a per-customer rate limit (one token bucket per customer, refilled
continuously), and failed logins throttled per peer address."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from mesh.errors.kinds import ResourceExhausted

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 20  # per peer address and window
FAILED_LOGIN_WINDOW_SECONDS = 60.0
FAILED_LOGIN_LOG_INTERVAL_SECONDS = 60.0
MAX_TRACKED_PEERS = 10_000


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


def peer_address(peer: str) -> str:
    """The caller's address without its port ("ipv4:10.0.0.7:53211" -> "ipv4:10.0.0.7"): a
    client opens a new connection, on a new port, as often as it likes."""
    address, colon, port = peer.rpartition(":")
    return address if colon and port.isdigit() else peer


@dataclass
class _Failures:
    window_start: float
    count: int = 0  # failures in this window
    unlogged: int = 0  # failures and refusals since the last log line
    logged_at: float = float("-inf")


class FailedLogins:
    """At most `max_failures` failed logins per peer address in a window of `window_seconds`;
    after that the peer's calls are refused, before any token is compared, with
    RESOURCE_EXHAUSTED (reason TOO_MANY_FAILED_LOGINS) and a RetryInfo delay until the window
    ends. One log line per peer per `log_interval_seconds` says how many failures it made, so a
    guessing client cannot fill the logs. At most `max_peers` peers are remembered."""

    def __init__(
        self,
        max_failures: int = MAX_FAILED_LOGINS,
        window_seconds: float = FAILED_LOGIN_WINDOW_SECONDS,
        log_interval_seconds: float = FAILED_LOGIN_LOG_INTERVAL_SECONDS,
        max_peers: int = MAX_TRACKED_PEERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._log_interval = log_interval_seconds
        self._max_peers = max_peers
        self._clock = clock
        self._peers: dict[str, _Failures] = {}

    def check(self, peer: str) -> None:
        """Raise ResourceExhausted if the peer is over its failures in this window."""
        now = self._clock()
        failures = self._current(peer, now)
        if failures is None or failures.count < self._max:
            return
        failures.unlogged += 1
        self._maybe_log(peer, failures, now)
        refusal = ResourceExhausted(
            f"too many failed logins from this address: at most {self._max} in {self._window:g}s",
            reason="TOO_MANY_FAILED_LOGINS",
            retry_after_seconds=max(failures.window_start + self._window - now, 0.0),
        )
        refusal.logged = False  # counted in the peer's next log line instead
        raise refusal

    def failed(self, peer: str) -> None:
        """Count one failed login of the peer's."""
        now = self._clock()
        failures = self._current(peer, now)
        if failures is None:
            self._make_room(now)
            failures = self._peers[peer] = _Failures(window_start=now)
        failures.count += 1
        failures.unlogged += 1
        self._maybe_log(peer, failures, now)

    def _current(self, peer: str, now: float) -> _Failures | None:
        failures = self._peers.get(peer)
        if failures is not None and now - failures.window_start >= self._window:
            failures.window_start, failures.count = now, 0
        return failures

    def _maybe_log(self, peer: str, failures: _Failures, now: float) -> None:
        if now - failures.logged_at < self._log_interval:
            return
        log.warning(
            "failed logins",
            extra={
                "peer": peer,
                "failures": failures.unlogged,
                "interval_seconds": self._log_interval,
                "refusing": failures.count >= self._max,
            },
        )
        failures.logged_at, failures.unlogged = now, 0

    def _make_room(self, now: float) -> None:
        if len(self._peers) < self._max_peers:
            return
        for peer in [p for p, f in self._peers.items() if now - f.window_start >= self._window]:
            del self._peers[peer]
        while len(self._peers) >= self._max_peers:
            del self._peers[next(iter(self._peers))]  # the longest known
