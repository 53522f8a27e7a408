"""RED metrics of every gRPC call: a duration histogram per method and status, on both sides.

The OpenTelemetry gRPC instrumentation records spans only, so these two small interceptors sit
next to it. Names and attributes follow the semantic conventions v1.44.0:
`rpc.server.call.duration` and `rpc.client.call.duration` in seconds, with `rpc.system.name`,
`rpc.method` (`package.Service/Method`) and `rpc.response.status_code` (the status name).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from mesh.interceptor import (
    Behavior,
    Continuation,
    UnaryClientInterceptor,
    UnaryServerInterceptor,
)
from tracing.metrics import meter
from tracing.rpc import call_attributes, mark_call, method_name

# Health probes and reflection are not calls anyone has an objective for.
_UNMEASURED = ("/grpc.health.", "/grpc.reflection.")


def _code_of(context: Any) -> grpc.StatusCode:
    code = context.code()
    return grpc.StatusCode.OK if code is None else code


class ServerMetricsInterceptor(UnaryServerInterceptor):
    """Times each unary call the server answers, whatever way it ends."""

    def __init__(self) -> None:
        self._duration = meter("simplebank.rpc").create_histogram(
            "rpc.server.call.duration", unit="s", description="Duration of RPCs served."
        )

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        if method.startswith(_UNMEASURED):
            return await behavior(request, context)
        started = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN  # an exception nobody turned into a status
        try:
            response = await behavior(request, context)
            code = _code_of(context)
            return response
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except grpc.aio.AbortError:
            code = _code_of(context)
            raise
        finally:
            self._duration.record(time.perf_counter() - started, call_attributes(method, code))
            mark_call(method, code)  # inside the SERVER span: it reads as the metric does


class ClientMetricsInterceptor(UnaryClientInterceptor):
    """Times each unary call a channel makes, retries and waiting for the deadline included."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._duration = meter("simplebank.rpc").create_histogram(
            "rpc.client.call.duration", unit="s", description="Duration of RPCs made."
        )

    async def around(self, continuation: Continuation, details: Any, request: Any) -> Any:
        started = time.perf_counter()
        method = method_name(details)
        try:
            call = await continuation(details, request)
        except grpc.aio.AioRpcError as refused:  # refused before it went out: an open circuit
            attributes = call_attributes(method, refused.code()) | {"server.address": self._target}
            self._duration.record(time.perf_counter() - started, attributes)
            raise
        code = grpc.StatusCode.UNKNOWN
        try:
            code = await call.code()
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        finally:
            attributes = call_attributes(method, code) | {"server.address": self._target}
            self._duration.record(time.perf_counter() - started, attributes)
        return call
