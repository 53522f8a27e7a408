"""make_channel against real servers: retries UNAVAILABLE only, stops at the deadline, and a
caller's deadline reaches the next hop shorter, never longer."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from mesh.calls.channels import CallPolicy, make_channel
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.servers.grpc_servers import Context, fake_fee_host, quote_100, quote_request

# Every service runs with tracing on: so do these tests (a traced server behaves differently).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("spans")]

# The deadline must cut a call off near its timeout; this is a bound on correctness, not speed.
DEADLINE_SLACK_SECONDS = 1.0
# grpc-timeout travels rounded and each hop reads it against its own clock: a server can see a
# few milliseconds more than its caller had (measured up to ~10 ms), whatever the chassis does.
WIRE_SLACK_SECONDS = 0.05


async def quote(target: str, policy: CallPolicy, call_timeout: float | None = None) -> int:
    async with make_channel(target, policy) as channel:
        stub = fees_pb2_grpc.FeeServiceStub(channel)
        answer = await stub.QuoteFee(quote_request(), timeout=call_timeout)
        return answer.fee.minor_units


async def test_a_call_refused_unavailable_is_retried_until_it_succeeds() -> None:
    async def unavailable_twice(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        if servicer.attempts <= 2:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return await quote_100(request, context)

    async with fake_fee_host(unavailable_twice) as (servicer, target):
        answer = await quote(target, CallPolicy(max_attempts=3))

    assert answer == 100
    assert servicer.attempts == 3


async def test_retries_stop_after_max_attempts() -> None:
    async def always_unavailable(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        raise AssertionError("abort returned")

    async with fake_fee_host(always_unavailable) as (servicer, target):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await quote(target, CallPolicy(max_attempts=2))

    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert servicer.attempts == 2


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.INTERNAL, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNKNOWN],
    ids=lambda code: code.name,
)
async def test_a_call_failing_with_any_other_code_is_not_retried(code: grpc.StatusCode) -> None:
    async def refuse(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        await context.abort(code, "no")
        raise AssertionError("abort returned")

    async with fake_fee_host(refuse) as (servicer, target):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await quote(target, CallPolicy(max_attempts=3))

    assert caught.value.code() is code
    assert servicer.attempts == 1


async def never_answer(
    request: fees_pb2.QuoteFeeRequest, context: Context
) -> fees_pb2.QuoteFeeResponse:
    await asyncio.sleep(30)
    raise AssertionError("the call outlived its deadline")


@pytest.mark.parametrize(
    ("policy_timeout", "call_timeout", "expected"),
    [(0.5, None, 0.5), (5.0, 0.3, 0.3)],
    ids=["channel-default", "own-timeout"],
)
async def test_a_call_to_a_slow_handler_stops_at_its_deadline(
    policy_timeout: float, call_timeout: float | None, expected: float
) -> None:
    async with fake_fee_host(never_answer) as (_, target):
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await quote(target, CallPolicy(timeout_seconds=policy_timeout), call_timeout)
        elapsed = time.monotonic() - started

    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert expected * 0.9 <= elapsed < expected + DEADLINE_SLACK_SECONDS


class DeadlineChain:
    """client -> hop A -> hop B. A works a while, then calls B through make_channel with its own
    policy and timeout; each hop records the time its context says it has left."""

    def __init__(
        self, a_policy: CallPolicy, a_call_timeout: float | None = None, a_work: float = 0.0
    ) -> None:
        self.a_policy = a_policy
        self.a_call_timeout = a_call_timeout
        self.a_work = a_work
        self.a_saw: list[float | None] = []
        self.b_saw: list[float | None] = []

    async def hop_b(
        self, request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        self.b_saw.append(context.time_remaining())
        return await quote_100(request, context)

    async def call_through(self, client_timeout: float | None) -> None:
        async with fake_fee_host(self.hop_b) as (_, b_target):
            b = make_channel(b_target, self.a_policy)

            async def hop_a(
                request: fees_pb2.QuoteFeeRequest, context: Context
            ) -> fees_pb2.QuoteFeeResponse:
                self.a_saw.append(context.time_remaining())
                await asyncio.sleep(self.a_work)
                stub = fees_pb2_grpc.FeeServiceStub(b)
                return await stub.QuoteFee(request, timeout=self.a_call_timeout)

            try:
                async with (
                    fake_fee_host(hop_a) as (_, a_target),
                    grpc.aio.insecure_channel(a_target) as client,
                ):
                    stub = fees_pb2_grpc.FeeServiceStub(client)
                    await stub.QuoteFee(quote_request(), timeout=client_timeout)
            finally:
                await b.close(grace=None)

    @property
    def b_remaining(self) -> float:
        [remaining] = self.b_saw
        assert remaining is not None, "hop B was called without a deadline"
        return remaining


async def test_a_callers_deadline_reaches_the_next_hop_shorter() -> None:
    chain = DeadlineChain(CallPolicy(timeout_seconds=5.0), a_work=0.3)

    await chain.call_through(client_timeout=1.0)

    # What B gets is what the caller allowed minus what A spent, not A's 5 s default.
    assert 0 < chain.b_remaining < 1.0 - 0.3 + WIRE_SLACK_SECONDS


async def test_a_longer_own_timeout_at_the_middle_hop_does_not_lengthen_the_callers_deadline() -> (
    None
):
    chain = DeadlineChain(CallPolicy(timeout_seconds=5.0), a_call_timeout=10.0, a_work=0.3)

    await chain.call_through(client_timeout=1.0)

    assert 0 < chain.b_remaining < 1.0 - 0.3 + WIRE_SLACK_SECONDS


async def test_a_shorter_own_timeout_at_the_middle_hop_still_applies() -> None:
    chain = DeadlineChain(CallPolicy(timeout_seconds=5.0), a_call_timeout=0.2)

    await chain.call_through(client_timeout=1.0)

    assert 0 < chain.b_remaining < 0.2 + WIRE_SLACK_SECONDS


async def test_without_a_callers_deadline_the_next_hop_gets_the_channel_default() -> None:
    chain = DeadlineChain(CallPolicy(timeout_seconds=5.0))

    await chain.call_through(client_timeout=None)

    assert chain.a_saw == [None]
    assert 5.0 - 1.0 < chain.b_remaining < 5.0 + WIRE_SLACK_SECONDS


async def test_a_policy_without_retries_still_makes_a_working_channel() -> None:
    async with fake_fee_host() as (servicer, target):
        answer = await quote(target, CallPolicy(max_attempts=1))

    assert answer == 100
    assert servicer.attempts == 1
