"""Refusals on the wire: a handler's DomainError becomes its status, details and trace id."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from mesh.errors import kinds
from mesh.errors.status import to_status
from mesh.interceptor import Behavior, UnaryServerInterceptor
from tracing.rpc import TRACE_ID_HEADER, current_trace_id

log = logging.getLogger(__name__)

NO_RETRY = ("grpc-retry-pushback-ms", "-1")


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: kinds.DomainError) -> None:
    """End the call with the error's status and details, and its trace id in the trailers."""
    status = to_status(error)
    trailers = tuple(status.trailing_metadata)
    if isinstance(error, kinds.Unavailable):
        # Passed on from further up, where the channel nearest the failure retried already:
        # retrying at every hop too would multiply the calls (3 x 3 ...) on a service that is
        # struggling. A negative pushback tells the caller's gRPC not to retry (gRFC A6).
        trailers += (NO_RETRY,)
    trace_id = current_trace_id()
    if trace_id:
        trailers += ((TRACE_ID_HEADER, trace_id),)
    await context.abort(status.code, status.details, trailers)


class DomainErrorInterceptor(UnaryServerInterceptor):
    """Turns a DomainError raised by a handler into its status, so servicers only translate."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        try:
            return await behavior(request, context)
        except kinds.DomainError as error:
            if error.logged:
                log.info("request refused", extra={"reason": error.reason, "method": method})
            await abort_with(context, error)
