"""The one polling helper of the tests: it returns what it waited for, backs off as a
RESOURCE_EXHAUSTED answer's RetryInfo says, retries UNAVAILABLE, raises any other error at once,
and fails naming what it waited for and what it saw last."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
import pytest

from mesh.errors import kinds
from mesh.errors.status import to_status
from tests.support.polling import grpcurl_retry_delay, poll, poll_async

T = TypeVar("T")


class FakeClock:
    """A clock that only moves when the helper sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def sleep_async(self, seconds: float) -> None:
        self.sleep(seconds)


class FailedCall(grpc.RpcError):
    """What a failed blocking call raises: the code, message and trailing google.rpc details."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__()
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return str(self._status.details)

    def trailing_metadata(self) -> Any:  # grpc-stubs' metadatum type is private
        return self._status.trailing_metadata


def rate_limited(retry_after: float) -> FailedCall:
    """A refusal the way the gateway's rate limiter sends it, RetryInfo attached."""
    error = kinds.ResourceExhausted(
        "customer alice is over 50 calls a second",
        reason="RATE_LIMITED",
        metadata={"customer_id": "alice"},
        retry_after_seconds=retry_after,
    )
    return FailedCall(to_status(error))


def failing(error: kinds.DomainError) -> FailedCall:
    return FailedCall(to_status(error))


def answers(*outcomes: T | BaseException) -> Callable[[], T]:
    """A read that gives each outcome in turn (raising the errors), then the last for ever."""
    queue: Iterator[T | BaseException] = iter(outcomes)
    last: list[T | BaseException] = []

    def read() -> T:
        last[:] = [next(queue, *last)]
        outcome = last[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return read


def test_returns_the_first_value_that_is_done_waiting_the_interval_between_reads() -> None:
    clock = FakeClock()

    got = poll(
        answers("PENDING", "PLACED", "FILLED"),
        lambda status: status == "FILLED",
        timeout=10,
        what="the order filled",
        interval=0.25,
        clock=clock,
        sleep=clock.sleep,
    )

    assert got == "FILLED"
    assert clock.slept == [0.25, 0.25]


def test_a_rate_limited_read_is_retried_only_after_the_delay_its_retry_info_gives() -> None:
    clock = FakeClock()

    got = poll(
        answers(rate_limited(0.7), "FILLED"),
        lambda status: status == "FILLED",
        timeout=10,
        what="the order filled",
        interval=0.05,
        clock=clock,
        sleep=clock.sleep,
    )

    assert got == "FILLED"
    assert clock.slept == [pytest.approx(0.7)]


async def test_the_async_helper_backs_off_as_retry_info_says_too() -> None:
    clock = FakeClock()
    read = answers(rate_limited(1.5), rate_limited(0.5), True)

    async def read_async() -> bool:
        return read()

    got = await poll_async(
        read_async, bool, 10, "the condition", 0.02, clock=clock, sleep=clock.sleep_async
    )

    assert got is True
    assert clock.slept == [pytest.approx(1.5), pytest.approx(0.5)]


def test_unavailable_is_retried_after_the_interval() -> None:
    clock = FakeClock()

    got = poll(
        answers(failing(kinds.Unavailable("orders is unavailable")), "OK"),
        lambda answer: answer == "OK",
        timeout=10,
        what="an answer",
        interval=0.1,
        clock=clock,
        sleep=clock.sleep,
    )

    assert got == "OK"
    assert clock.slept == [0.1]


def test_any_other_error_is_raised_at_once() -> None:
    clock = FakeClock()
    refused = failing(kinds.NotFound("no order o-1", reason="ORDER_NOT_FOUND"))

    with pytest.raises(grpc.RpcError) as raised:
        poll(answers(refused, "FILLED"), bool, 10, "the order", clock=clock, sleep=clock.sleep)

    assert raised.value is refused
    assert clock.slept == []


def test_out_of_time_it_fails_naming_what_it_waited_for_and_the_last_value() -> None:
    clock = FakeClock()

    with pytest.raises(AssertionError) as failed:
        poll(
            answers("PENDING", "PLACED"),
            lambda status: status == "FILLED",
            timeout=2,
            what="order o-1 FILLED",
            interval=0.5,
            describe=str,
            clock=clock,
            sleep=clock.sleep,
        )

    assert str(failed.value) == "not within 2s: order o-1 FILLED; last seen: PLACED"
    assert sum(clock.slept) == pytest.approx(2)


def test_out_of_time_while_still_refused_it_fails_with_the_refusal() -> None:
    clock = FakeClock()
    refusal = rate_limited(0.4)

    with pytest.raises(AssertionError) as failed:
        poll(answers(refusal), bool, 1, "an answer", clock=clock, sleep=clock.sleep)

    assert str(failed.value) == (
        "not within 1s: an answer; last seen: "
        "RESOURCE_EXHAUSTED: customer alice is over 50 calls a second"
    )
    assert failed.value.__cause__ is refusal
    assert all(seconds == pytest.approx(0.4) for seconds in clock.slept)


def test_with_or_last_it_returns_the_last_value_out_of_time() -> None:
    clock = FakeClock()

    got = poll(
        answers("PENDING", "PLACED"),
        lambda status: status == "FILLED",
        timeout=1,
        what="the order filled",
        or_last=True,
        clock=clock,
        sleep=clock.sleep,
    )

    assert got == "PLACED"


# As grpcurl prints it: each line of a detail after the first begins with a tab.
GRPCURL_RATE_LIMITED = "\n".join(
    [
        "ERROR:",
        "  Code: ResourceExhausted",
        "  Message: customer alice is over 50 calls a second",
        "  Details:",
        "  1)\t{",
        '    \t  "@type": "type.googleapis.com/google.rpc.ErrorInfo",',
        '    \t  "domain": "simplebank",',
        '    \t  "reason": "RATE_LIMITED"',
        "    \t}",
        "  2)\t{",
        '    \t  "@type": "type.googleapis.com/google.rpc.RetryInfo",',
        '    \t  "retry_delay": "0.800s"',
        "    \t}",
    ]
)


def test_a_grpcurl_poller_backs_off_as_the_printed_retry_info_says() -> None:
    clock = FakeClock()

    got = poll(
        answers(GRPCURL_RATE_LIMITED, '{"status": "ORDER_STATUS_FILLED"}'),
        lambda output: "FILLED" in output,
        timeout=10,
        what="the order filled",
        interval=0.2,
        backoff=grpcurl_retry_delay,
        clock=clock,
        sleep=clock.sleep,
    )

    assert "FILLED" in got
    assert clock.slept == [pytest.approx(0.8)]


def test_grpcurl_output_without_resource_exhausted_asks_for_no_back_off() -> None:
    assert grpcurl_retry_delay('{"status": "ORDER_STATUS_PLACED"}') is None
    unavailable = GRPCURL_RATE_LIMITED.replace("ResourceExhausted", "Unavailable")
    assert grpcurl_retry_delay(unavailable) is None
