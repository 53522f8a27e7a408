"""What the gRPC instrumentation leaves out: a handler that crashed is an error on its span."""

from __future__ import annotations

from typing import Any

import grpc

from mesh.interceptor import Behavior, UnaryServerInterceptor
from tracing.rpc import mark_crashed


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
