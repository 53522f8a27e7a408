"""Load shedding at the edge: a bound on the calls in progress, the excess refused at once.

Under overload a server that admits everything makes every call slow; one that admits what it
can finish keeps those within the latency objective and tells the rest, straight away, to come
back later: RESOURCE_EXHAUSTED (reason OVERLOADED) with a google.rpc.RetryInfo retry delay.
A concurrency limit rather than a rate: it follows what the machine can do without tuning.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mesh.errors import kinds
from mesh.errors.refusals import abort_with
from mesh.interceptor import Behavior, UnaryServerInterceptor
from services.gateway.config import PER_CUSTOMER_IN_FLIGHT
from tracing.metrics import meter

# Probes, reflection and operations must get through an overloaded server.
_ALWAYS_ADMITTED = ("/grpc.health.", "/grpc.reflection.", "/simplebank.ops.")


class AdmissionInterceptor(UnaryServerInterceptor):
    """At most `limit` calls at once; the next is refused until one finishes."""

    def __init__(self, limit: int, retry_after_seconds: float) -> None:
        self.limit = limit
        self.in_flight = 0
        self._retry_after = retry_after_seconds
        self._shed = meter("simplebank.rpc").create_counter(
            "simplebank.requests.shed", unit="{call}", description="Calls refused as overload."
        )

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        if method.startswith(_ALWAYS_ADMITTED):
            return await behavior(request, context)
        if self.in_flight >= self.limit:
            self._shed.add(1, {"rpc.method": method[1:]})
            await abort_with(
                context,
                kinds.ResourceExhausted(
                    f"overloaded: {self.limit} calls in progress, try again later",
                    metadata={"limit": str(self.limit)},
                    retry_after_seconds=self._retry_after,
                ),
            )
        self.in_flight += 1
        try:
            return await behavior(request, context)
        finally:
            self.in_flight -= 1


class CustomerConcurrency:
    """At most `limit` calls in progress per customer; the next is refused at once with
    RESOURCE_EXHAUSTED (reason CUSTOMER_OVERLOADED) and a RetryInfo delay, before it reaches
    any upstream. Taken as soon as the caller is known, before the upstream is called."""

    def __init__(self, limit: int = PER_CUSTOMER_IN_FLIGHT, retry_after_seconds: float = 0.5):
        self.limit = limit
        self.in_flight: dict[str, int] = {}
        self._retry_after = retry_after_seconds

    @contextmanager
    def hold(self, customer_id: str) -> Iterator[None]:
        held = self.in_flight.get(customer_id, 0)
        if held >= self.limit:
            raise kinds.ResourceExhausted(
                f"customer {customer_id} has {self.limit} calls in progress, try again later",
                reason="CUSTOMER_OVERLOADED",
                metadata={"customer_id": customer_id, "limit": str(self.limit)},
                retry_after_seconds=self._retry_after,
            )
        self.in_flight[customer_id] = held + 1
        try:
            yield
        finally:
            left = self.in_flight[customer_id] - 1
            if left:
                self.in_flight[customer_id] = left
            else:
                del self.in_flight[customer_id]
