"""A base for server interceptors that wrap each unary call; the trace-id header; crash marks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from tracing.rpc import TRACE_ID_HEADER, current_trace_id, mark_crashed

Behavior = Callable[[Any, Any], Awaitable[Any]]


class UnaryServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Calls `around` for every unary-unary call; streaming calls (health Watch) pass through."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behavior: Behavior = handler.unary_unary
        method: str = handler_call_details.method

        async def wrapped(request: Any, context: Any) -> Any:
            return await self.around(behavior, request, context, method)

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class TraceIdHeaderInterceptor(UnaryServerInterceptor):
    """Answers the call's trace id in the `x-trace-id` header, so `grpcurl -v` shows it.

    Sent with the response, not before the handler runs: once a server has sent headers, a
    client may no longer retry the call, and UNAVAILABLE must stay retryable. A refused call
    carries it in its trailers instead (mesh.status.abort_with).
    """

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        response = await behavior(request, context)
        trace_id = current_trace_id()
        if trace_id:
            await context.send_initial_metadata(((TRACE_ID_HEADER, trace_id),))
        return response


class CrashSpanInterceptor(UnaryServerInterceptor):
    """Marks the call's span failed when a handler raises instead of answering or aborting."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:  # an abort is an answer; the instrumentation records it
            raise
        except Exception as error:
            mark_crashed(error)
            raise
