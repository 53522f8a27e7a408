"""gRPC tracing: which calls opentelemetry-instrumentation-grpc traces, what it leaves unmarked.

The spans themselves come from the instrumentation's `grpc.aio` interceptors, added where the
server (mesh.server) and the channels (mesh.calls.channels) are built: a SERVER span per incoming
call, child of the caller's context read from the metadata, and a CLIENT span per outgoing one
that sends its context along; `method_name` reads which method a call is for, for them and for
the mesh's interceptors. What it does not do stays in the mesh: the `x-trace-id` answer
(mesh.interceptor, mesh.errors.status), deadlines (mesh.calls.deadline) and marking a crashed call
failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode


def method_name(details: Any) -> str:
    """The call's full method name (`/package.Service/Method`): a server's HandlerCallDetails
    holds it as str, a channel's ClientCallDetails as bytes (grpc/grpc#31092)."""
    method = details.method
    return method.decode() if isinstance(method, bytes) else str(method)


TRACE_ID_HEADER = "x-trace-id"


# What traced_calls leaves out, as full method names start ("/" and the service name): what the
# instrumentation's filters.health_check() and filters.service_prefix("grpc.reflection.") match.
UNTRACED_PREFIXES = ("/grpc.health.v1.Health", "/grpc.reflection.")


def traced_calls() -> Callable[[Any], bool]:
    """The instrumentation's filter: every call but health checks and reflection.

    Probes and reflection would drown the traces of real work, and the aio server interceptor
    breaks streaming handlers that answer with `context.write`, as health's Watch does.

    A plain test of the method's name: the same calls as the instrumentation's own
    `filters.negate(filters.any_of(filters.health_check(), filters.service_prefix(...)))`,
    which cost 30-40 us a call (isinstance against grpc's abstract classes, os.path on the
    name) against under 1 us, on every call made and every call served.
    """

    def traced(details: Any) -> bool:
        return not method_name(details).startswith(UNTRACED_PREFIXES)

    return traced


def call_attributes(method: str, code: grpc.StatusCode) -> dict[str, str]:
    """A call as the RPC semantic conventions v1.44 name it, on its spans and in its metrics
    alike: `method` is the full `/package.Service/Method`, the status code by its name."""
    return {
        "rpc.system.name": "grpc",
        "rpc.method": method.removeprefix("/"),
        "rpc.response.status_code": code.name,
    }


def mark_call(method: str, code: grpc.StatusCode) -> None:
    """Give the call's own span (the current one, if it is the call's) the v1.44 attributes.

    opentelemetry-instrumentation-grpc 0.66b2 writes the earlier conventions (`rpc.system`,
    `rpc.service`, `rpc.method` as the bare method, `rpc.grpc.status_code` as a number) and has
    no opt-in for the new ones; these are set over them, so spans and metrics read alike. The
    old keys stay, as the instrumentation's own `/dup` migrations keep them, for old queries.
    """
    span = trace.get_current_span()
    if span.is_recording() and getattr(span, "name", None) == method:
        span.set_attributes(call_attributes(method, code))


def mark_crashed(error: Exception) -> None:
    """Mark the current span failed with UNKNOWN, the code the caller gets for a crash.

    The instrumentation marks the codes a handler aborts with, but a handler that raises
    instead leaves its span at code 0 and unmarked (it records only the exception).
    """
    span = trace.get_current_span()
    span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.UNKNOWN.value[0])
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
