"""The `x-trace-id` response header: from any grpcurl -v call straight to its trace in Jaeger."""

from __future__ import annotations

from typing import Any

from mesh.interceptor import Behavior, UnaryServerInterceptor
from tracing.rpc import TRACE_ID_HEADER, current_trace_id


class TraceIdHeaderInterceptor(UnaryServerInterceptor):
    """Answers the call's trace id in the `x-trace-id` header, so `grpcurl -v` shows it.

    Installed at the gateway only, where people call: the header goes in a gRPC batch of its
    own, and inner hops (whose callers never read it) paid for it on every call.

    Sent with the response, not before the handler runs: once a server has sent headers, a
    client may no longer retry the call, and UNAVAILABLE must stay retryable. A refused call
    carries it in its trailers instead (mesh.errors.refusals.abort_with).
    """

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        response = await behavior(request, context)
        trace_id = current_trace_id()
        if trace_id:
            await context.send_initial_metadata(((TRACE_ID_HEADER, trace_id),))
        return response
