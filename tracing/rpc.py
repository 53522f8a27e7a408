"""gRPC tracing: OpenTelemetry interceptors for servers and channels, and the current trace id."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.grpc import (
    aio_client_interceptors,
    aio_server_interceptor,
    filters,
)

TRACE_ID_HEADER = "x-trace-id"


def _not_infrastructure() -> Any:
    # The aio server interceptor breaks streaming handlers that use context.write (health
    # Watch does), and health probes and reflection would drown the traces anyway.
    return filters.negate(
        filters.any_of(
            filters.health_check(),
            filters.service_prefix("grpc.reflection."),
        )
    )


def server_interceptor() -> Any:
    """The interceptor that opens a SERVER span per call, continuing the caller's trace."""
    return aio_server_interceptor(filter_=_not_infrastructure())  # type: ignore[no-untyped-call]


def client_interceptors() -> list[Any]:
    """Interceptors that open a CLIENT span per call and send its context downstream."""
    return list(aio_client_interceptors(filter_=_not_infrastructure()))  # type: ignore[no-untyped-call]


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside a sampled-or-not span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
