"""One way for a test to wait for something: read until done, backing off as the server says.

A read that fails with RESOURCE_EXHAUSTED is tried again after the delay its google.rpc
RetryInfo gives (the gateway's rate limiter and admission attach one), as a well-behaved client
does; UNAVAILABLE (a service restarting, a channel reconnecting) is tried again after the
interval. Any other error is the test's to see, and is raised at once. Out of time, the helper
fails with what it saw last, or, with `or_last`, returns it for the test's own assertions.

grpcurl does not raise: a poller of grpcurl's output passes `backoff=grpcurl_retry_delay`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import grpc
from google.rpc import error_details_pb2

from mesh.errors.status import details_of

POLL_SECONDS = 0.05

T = TypeVar("T")

# grpcurl prints the details of an error as JSON, with the proto's own field names.
_GRPCURL_EXHAUSTED = re.compile(r"^\s*Code: ResourceExhausted$", re.MULTILINE)
_GRPCURL_RETRY_DELAY = re.compile(r'"retry_?[dD]elay":\s*"(\d+(?:\.\d+)?)s"')


def retry_delay(error: grpc.RpcError, interval: float = POLL_SECONDS) -> float | None:
    """How long to wait before calling again after `error`; None if calling again won't help.

    RESOURCE_EXHAUSTED: its RetryInfo delay (the interval if it carries none); UNAVAILABLE:
    the interval.
    """
    code = error.code()
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        for detail in details_of(error):
            if isinstance(detail, error_details_pb2.RetryInfo):
                return max(int(detail.retry_delay.ToNanoseconds()) / 1e9, interval)
        return interval
    if code is grpc.StatusCode.UNAVAILABLE:
        return interval
    return None


def grpcurl_retry_delay(output: str) -> float | None:
    """The RetryInfo delay of a ResourceExhausted error grpcurl printed; None for other output."""
    if not _GRPCURL_EXHAUSTED.search(output):
        return None
    delay = _GRPCURL_RETRY_DELAY.search(output)
    return float(delay.group(1)) if delay else None


class _Attempts(Generic[T]):
    """The bookkeeping `poll` and `poll_async` share: what was seen last, and when to stop."""

    def __init__(
        self,
        timeout: float,
        what: str,
        interval: float,
        describe: Callable[[T], str],
        backoff: Callable[[T], float | None],
        or_last: bool,
        clock: Callable[[], float],
    ) -> None:
        self.timeout = timeout
        self.what = what
        self.interval = interval
        self.describe = describe
        self.backoff = backoff
        self.or_last = or_last
        self.clock = clock
        self.deadline = clock() + timeout

    def after_value(self, value: T) -> float | None:
        """The wait before the next read, after a value that is not done yet; None when out of
        time with `or_last` (the value is the answer)."""
        if self._out_of_time():
            if self.or_last:
                return None
            raise self._failure(self.describe(value))
        wait = self.backoff(value)
        return self.interval if wait is None else max(wait, self.interval)

    def after_error(self, error: grpc.RpcError) -> float:
        """The wait before the next read, after a call that failed; raises if it won't help."""
        wait = retry_delay(error, self.interval)
        if wait is None:
            raise error
        if self._out_of_time():
            raise self._failure(f"{error.code().name}: {error.details()}") from error
        return wait

    def _out_of_time(self) -> bool:
        return self.clock() >= self.deadline

    def _failure(self, last: str) -> AssertionError:
        return AssertionError(f"not within {self.timeout:g}s: {self.what}; last seen: {last}")


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    what: str,
    interval: float = POLL_SECONDS,
    *,
    describe: Callable[[T], str] = repr,
    backoff: Callable[[T], float | None] = lambda _value: None,
    or_last: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `read` until `done(value)`, and return that value.

    Between reads: `interval` seconds, or what `backoff(value)` says if longer; after a gRPC
    error, what `retry_delay` says (RetryInfo for RESOURCE_EXHAUSTED), and an error it would
    not retry is raised. After `timeout` seconds, raise AssertionError naming `what` and the
    last value (`describe`d) or error; with `or_last`, return the last value instead (a read
    still failing is raised as the AssertionError all the same).
    """
    attempts = _Attempts(timeout, what, interval, describe, backoff, or_last, clock)
    while True:
        try:
            value = read()
        except grpc.RpcError as error:
            sleep(attempts.after_error(error))
            continue
        if done(value):
            return value
        wait = attempts.after_value(value)
        if wait is None:
            return value
        sleep(wait)


async def poll_async(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    within: float,
    what: str,
    interval: float = POLL_SECONDS,
    *,
    describe: Callable[[T], str] = repr,
    backoff: Callable[[T], float | None] = lambda _value: None,
    or_last: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`poll` for a coroutine's read, waiting without blocking the event loop (`within` is
    `poll`'s `timeout`)."""
    attempts = _Attempts(within, what, interval, describe, backoff, or_last, clock)
    while True:
        try:
            value = await read()
        except grpc.RpcError as error:
            await sleep(attempts.after_error(error))
            continue
        if done(value):
            return value
        wait = attempts.after_value(value)
        if wait is None:
            return value
        await sleep(wait)
