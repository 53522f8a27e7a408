"""A channel's circuit breaker against a real server: opens on an upstream that keeps failing,
refuses at once with CIRCUIT_OPEN (the server sees nothing), probes, and closes again; refusals
that are the caller's fault, or an upstream relaying a failure further up, never open it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mesh.calls.breaker import BreakerPolicy, CircuitBreaker, State
from mesh.calls.channels import CallPolicy, make_channel
from mesh.errors import kinds
from mesh.errors.refusals import abort_with
from mesh.errors.status import reason_of
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.data.tracing import wait_for_spans
from tests.support.servers.grpc_servers import (
    Context,
    QuoteHandler,
    fake_fee_host,
    quote_100,
    quote_request,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("spans")]

OPEN_SECONDS = 0.3
POLICY = CallPolicy(
    max_attempts=1,
    breaker=BreakerPolicy(consecutive_failures=3, minimum_calls=100, open_seconds=OPEN_SECONDS),
)


def failing_while(broken: Callable[[], bool], error: kinds.DomainError) -> QuoteHandler:
    async def handle(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        if broken():
            await abort_with(context, error)
        return await quote_100(request, context)

    return handle


async def outcomes(channel: grpc.aio.Channel, calls: int) -> list[str]:
    """Each call's status name, with its ErrorInfo reason when it has one."""
    stub = fees_pb2_grpc.FeeServiceStub(channel)
    seen = []
    for _ in range(calls):
        try:
            await stub.QuoteFee(quote_request())
            seen.append("OK")
        except grpc.aio.AioRpcError as error:
            reason = reason_of(error)
            seen.append(f"{error.code().name} {reason}".strip())
    return seen


async def test_an_upstream_that_keeps_failing_is_cut_off_then_probed_and_let_back() -> None:
    broken = True
    handle = failing_while(lambda: broken, kinds.Unavailable("down", reason="FAULT_INJECTED"))
    breaker = CircuitBreaker("fees", POLICY.breaker)
    async with (
        fake_fee_host(handle) as (servicer, target),
        make_channel(target, POLICY, breaker) as channel,
    ):
        first = await outcomes(channel, 5)
        reached = servicer.attempts
        broken = False
        await asyncio.sleep(OPEN_SECONDS)
        after = await outcomes(channel, 2)

    assert first == ["UNAVAILABLE FAULT_INJECTED"] * 3 + ["UNAVAILABLE CIRCUIT_OPEN"] * 2
    assert reached == 3  # the refused calls never left the client
    assert after == ["OK", "OK"]
    assert breaker.state is State.CLOSED


@pytest.mark.parametrize(
    "error",
    [
        kinds.InvalidArgument([kinds.FieldViolation("symbol", "unknown")]),
        kinds.Unavailable("accounts is unavailable"),  # relayed: reason UPSTREAM_UNAVAILABLE
        kinds.Unavailable("accounts is unavailable", reason="CIRCUIT_OPEN"),
    ],
    ids=["invalid-argument", "relayed-unavailable", "relayed-circuit-open"],
)
async def test_failures_that_are_not_the_upstream_being_down_leave_the_circuit_closed(
    error: kinds.DomainError,
) -> None:
    breaker = CircuitBreaker("fees", POLICY.breaker)
    handle = failing_while(lambda: True, error)
    async with (
        fake_fee_host(handle) as (servicer, target),
        make_channel(target, POLICY, breaker) as channel,
    ):
        await outcomes(channel, 6)

    assert servicer.attempts == 6
    assert breaker.state is State.CLOSED


async def test_an_upstream_that_does_not_answer_in_time_opens_the_circuit() -> None:
    async def slow(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        await asyncio.sleep(1)
        return await quote_100(request, context)

    policy = CallPolicy(timeout_seconds=0.05, max_attempts=1, breaker=POLICY.breaker)
    breaker = CircuitBreaker("fees", policy.breaker)
    async with fake_fee_host(slow) as (_, target), make_channel(target, policy, breaker) as channel:
        seen = await outcomes(channel, 4)

    assert seen == ["DEADLINE_EXCEEDED"] * 3 + ["UNAVAILABLE CIRCUIT_OPEN"]


async def test_the_circuit_opening_and_a_refused_call_show_on_the_callers_span(
    spans: InMemorySpanExporter,
) -> None:
    handle = failing_while(lambda: True, kinds.Unavailable("down", reason="FAULT_INJECTED"))
    async with fake_fee_host(handle) as (_, target), make_channel(target, POLICY) as channel:
        with trace.get_tracer("test").start_as_current_span("caller"):
            await outcomes(channel, 4)

    finished = await wait_for_spans(spans, lambda found: any(s.name == "caller" for s in found))
    caller = next(s for s in finished if s.name == "caller")
    assert [e.name for e in caller.events] == ["circuit state changed", "circuit open"]
