"""What the gRPC instrumentation leaves out: a handler that crashed is an error on its span, and
a call's CLIENT span carries the v1.44 attributes its metrics have (tracing.rpc.mark_call; the
server side marks its span where it times the call, mesh.rpc_metrics)."""

from __future__ import annotations

from typing import Any

import grpc

from mesh.interceptor import Behavior, Continuation, UnaryClientInterceptor, UnaryServerInterceptor
from tracing.edge import link_client_context
from tracing.rpc import mark_call, mark_crashed, method_name


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


class CallSpanInterceptor(UnaryClientInterceptor):
    """Innermost on a channel, inside the instrumentation's CLIENT span: marks it with the call's
    method and, once the call ends, its status, before the instrumentation ends the span."""

    async def around(self, continuation: Continuation, details: Any, request: Any) -> Any:
        method = method_name(details)
        try:
            call = await continuation(details, request)
        except grpc.aio.AioRpcError as refused:
            mark_call(method, refused.code())
            raise
        mark_call(method, await call.code())
        return call


class ClientTraceLinkInterceptor(UnaryServerInterceptor):
    """At the public edge (with tracing.edge.start_own_traces): links the call's new trace to
    the one its caller sent, if any."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        link_client_context(context.invocation_metadata() or ())
        return await behavior(request, context)
