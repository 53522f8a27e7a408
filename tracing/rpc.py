"""gRPC tracing: a SERVER span per incoming call, a CLIENT span per outgoing one, W3C context
carried in the metadata, and the current trace id.

These two interceptors replace opentelemetry-instrumentation-grpc's. Measured here (make bench,
bench/ notes in the README), the stock ones cost 538 µs of CPU per traced hop against 375 µs
for these, mostly in per-call object wrapping and old-convention attributes; tracing is the one
cost the mesh pays on every call. The spans keep the OpenTelemetry RPC conventions: name
`/<service>/<method>` as before, kinds SERVER and CLIENT, `rpc.system`, `rpc.service`,
`rpc.method`, `rpc.grpc.status_code`, and ERROR status for the codes the conventions name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

TRACE_ID_HEADER = "x-trace-id"

# Health probes and reflection would drown the traces of real work.
_UNTRACED = ("/grpc.health.", "/grpc.reflection.")

# A server span is an error only for codes that mean the server failed; a client span is an
# error for every code but OK (OpenTelemetry's gRPC conventions).
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


@cache
def _tracer() -> trace.Tracer:
    return trace.get_tracer("simplebank.rpc")


def _attributes(method: str) -> dict[str, str]:
    service, _, name = method[1:].partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def _end(span: Span, code: grpc.StatusCode, errors: frozenset[grpc.StatusCode] | None) -> None:
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK and (errors is None or code in errors):
        span.set_status(Status(StatusCode.ERROR, code.name))


class ServerSpanInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """A SERVER span per unary call, child of the caller's context read from the metadata."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or handler.unary_unary is None or method.startswith(_UNTRACED):
            return handler
        behavior = handler.unary_unary
        attributes = _attributes(method)

        async def traced(request: Any, context: Any) -> Any:
            parent = propagate.extract(dict(context.invocation_metadata() or ()))
            with _tracer().start_as_current_span(
                method,
                context=parent,
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    response = await behavior(request, context)
                except Exception as error:
                    if not isinstance(error, grpc.aio.AbortError):  # an abort is an answer
                        span.record_exception(error)
                    _end(span, context.code() or grpc.StatusCode.UNKNOWN, _SERVER_ERRORS)
                    raise
                _end(span, context.code() or grpc.StatusCode.OK, _SERVER_ERRORS)
                return response

        return grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ClientSpanInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """A CLIENT span per unary call; its context travels in the call's metadata."""

    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Awaitable[Any]], details: Any, request: Any
    ) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if method.startswith(_UNTRACED):
            return await continuation(details, request)
        with _tracer().start_as_current_span(
            method,
            kind=SpanKind.CLIENT,
            attributes=_attributes(method),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            metadata = grpc.aio.Metadata(*(details.metadata or ()), *carrier.items())
            call = await continuation(details._replace(metadata=metadata), request)
            _end(span, await call.code(), None)
            return call


def server_interceptor() -> grpc.aio.ServerInterceptor:  # type: ignore[type-arg]
    """The interceptor that opens a SERVER span per call, continuing the caller's trace."""
    return ServerSpanInterceptor()


def client_interceptors() -> list[Any]:
    """Interceptors that open a CLIENT span per call and send its context downstream."""
    return [ClientSpanInterceptor()]


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
