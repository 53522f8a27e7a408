"""The `x-trace-id` response trailer: from any grpcurl -v call straight to its trace in Jaeger."""

from __future__ import annotations

from typing import Any

from mesh.interceptor import Behavior, UnaryServerInterceptor
from tracing.rpc import TRACE_ID_HEADER, current_trace_id


class TraceIdHeaderInterceptor(UnaryServerInterceptor):
    """Answers the call's trace id in the `x-trace-id` trailer, so `grpcurl -v` shows it
    (under "Response trailers received"), as a refused call's trailers already carry it
    (mesh.errors.refusals.abort_with).

    A trailer travels with the status, in the batch gRPC sends anyway; as a header it needed a
    batch of its own, the gateway's largest single cost of the mesh's own code (8.9% of its
    samples). Installed at the gateway only, where people call: inner hops' callers never
    read it.
    """

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        response = await behavior(request, context)
        trace_id = current_trace_id()
        if trace_id:
            context.set_trailing_metadata(((TRACE_ID_HEADER, trace_id),))
        return response
