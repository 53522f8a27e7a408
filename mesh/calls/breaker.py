"""Circuit breakers on upstream channels: after repeated failures, fail fast instead of waiting.

Written here rather than taken from PyPI: aiobreaker (last release 2021) and purgatory (3.0)
count consecutive exceptions only, pybreaker is synchronous, and none counts a failure rate
over a window or tells a gRPC status that says "the upstream is down" (UNAVAILABLE, a deadline
run out, RESOURCE_EXHAUSTED) from one that says "your request is wrong" (INVALID_ARGUMENT), which
a grpc.aio interceptor reads from a call object rather than catching. The state machine is
about sixty lines:

CLOSED --(`consecutive_failures` in a row of one method, or `failure_rate` of at least
`minimum_calls` within `window_seconds`)--> OPEN --(`open_seconds` later, the next call is let
through as a probe)--> HALF_OPEN --(the probe succeeds)--> CLOSED, or --(it fails)--> OPEN again.

A run of failures is counted per method: a call of another method that works does not end it.
A caller that follows each failed call with one that works (orders releases the shares of a
reserve call that ended without an answer) would otherwise never see a run, and an upstream
whose one method keeps failing would be called on without end.

While OPEN a call fails at once with UNAVAILABLE and ErrorInfo reason CIRCUIT_OPEN. State shows
as the gauge `simplebank.circuit.state{upstream}` (0 closed, 1 half-open, 2 open), a log line
and a span event at each change, and in the service's heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from mesh.errors.kinds import CIRCUIT_OPEN
from mesh.errors.status import DOMAIN
from mesh.interceptor import Continuation, UnaryClientInterceptor
from tracing.metrics import meter
from tracing.rpc import method_name
from tracing.span_events import note

log = logging.getLogger(__name__)

# Codes that say the upstream cannot do the work now; any other answer is the upstream working.
COUNTED = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
# ...unless the upstream only passes on a failure further up (mesh.errors.upstream keeps
# these reasons): the upstream itself is fine, and breaking its circuit would cut off calls
# that need only it.
RELAYED_REASONS = frozenset({"UPSTREAM_UNAVAILABLE", "DEADLINE_EXCEEDED", CIRCUIT_OPEN})
STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class BreakerPolicy:
    """When a channel's circuit opens and for how long; data, like the retry policy."""

    consecutive_failures: int = 5
    failure_rate: float = 0.5
    minimum_calls: int = 10
    window_seconds: float = 10.0
    open_seconds: float = 3.0


class State(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """One upstream's circuit; `allow` before a call, `record` its outcome after."""

    def __init__(
        self,
        upstream: str,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self.policy = policy
        self.state = State.CLOSED
        self._clock = clock
        self._outcomes: deque[tuple[float, bool]] = deque()  # (when, failed) within the window
        self._runs: dict[str, int] = {}  # failures in a row, per method
        self._opened_at = 0.0
        self._probing = False
        self._gauge = meter("simplebank.rpc").create_gauge(
            "simplebank.circuit.state",
            description="Circuit of calls to an upstream: 0 closed, 1 half-open, 2 open.",
        )
        self._gauge.set(int(self.state), {"upstream": upstream})

    def allow(self) -> bool:
        """May a call go out now? In HALF_OPEN only one, the probe, at a time."""
        if self.state is State.OPEN and self._clock() >= self._opened_at + self.policy.open_seconds:
            self._move(State.HALF_OPEN)
        if self.state is State.CLOSED:
            return True
        if self.state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record(self, failed: bool | None, method: str = "") -> None:
        """How an allowed call of `method` ended: None when it was cancelled and says nothing."""
        if self.state is State.HALF_OPEN and self._probing:
            self._probing = False
            if failed is not None:
                self._open() if failed else self._close()
            return
        if failed is None or self.state is not State.CLOSED:
            return
        now = self._clock()
        self._outcomes.append((now, failed))
        while self._outcomes[0][0] < now - self.policy.window_seconds:
            self._outcomes.popleft()
        run = self._runs[method] = self._runs.get(method, 0) + 1 if failed else 0
        failures = sum(1 for _, f in self._outcomes if f)
        rate_exceeded = (
            len(self._outcomes) >= self.policy.minimum_calls
            and failures / len(self._outcomes) >= self.policy.failure_rate
        )
        if run >= self.policy.consecutive_failures or rate_exceeded:
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(State.OPEN)

    def _close(self) -> None:
        self._outcomes.clear()
        self._runs.clear()
        self._move(State.CLOSED)

    def _move(self, state: State) -> None:
        before, self.state = self.state, state
        self._gauge.set(int(state), {"upstream": self.upstream})
        log.warning(
            "circuit state changed",
            extra={"upstream": self.upstream, "from": before.name, "to": state.name},
        )
        note(
            "circuit state changed",
            {"simplebank.circuit.upstream": self.upstream, "simplebank.circuit.state": state.name},
        )


def open_error(breaker: CircuitBreaker) -> grpc.aio.AioRpcError:
    """What a call refused by an open circuit raises: UNAVAILABLE, reason CIRCUIT_OPEN."""
    message = (
        f"circuit open after repeated failures: failing fast for {breaker.policy.open_seconds:g}s"
    )
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=CIRCUIT_OPEN, domain=DOMAIN))
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message, details=[detail])
    trailers = grpc.aio.Metadata((STATUS_DETAILS_KEY, status.SerializeToString()))
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), trailers, message, None
    )


def reason_in(trailers: Any) -> str:
    """The ErrorInfo reason in a call's trailing metadata, or ""."""
    for key, value in trailers or ():
        if key == STATUS_DETAILS_KEY:
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.reason)
    return ""


class BreakerInterceptor(UnaryClientInterceptor):
    """Refuses calls while the circuit is open; tells the breaker how each call ended."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker

    async def around(self, continuation: Continuation, details: Any, request: Any) -> Any:
        if not self.breaker.allow():
            note("circuit open", {"simplebank.circuit.upstream": self.breaker.upstream})
            raise open_error(self.breaker)
        try:
            call = await continuation(details, request)
            code = await call.code()
            failed = (
                code in COUNTED and reason_in(await call.trailing_metadata()) not in RELAYED_REASONS
            )
        except asyncio.CancelledError:
            self.breaker.record(None)
            raise
        self.breaker.record(failed, method_name(details))
        return call
