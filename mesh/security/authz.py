"""Authorization interceptor: the caller from its certificate, the policy's answer, default deny.

Every call, allowed or denied, is counted (simplebank.authz.decisions); a denial is logged and
answered PERMISSION_DENIED with an ErrorInfo naming the caller and the method.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from mesh.errors import kinds
from mesh.errors.refusals import abort_with
from mesh.security.identity import caller_of, spiffe_id
from mesh.security.policy import Policy
from tracing.metrics import meter

log = logging.getLogger(__name__)

Behavior = Callable[..., Any]


class AuthorizationInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Checks every call, streaming ones (health Watch, reflection) included, before its handler."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._decisions = meter(__name__).create_counter(
            "simplebank.authz.decisions",
            unit="{call}",
            description="Calls the authorization policy allowed or denied, by caller and method",
        )

    async def _deny(self, context: Any, method: str) -> bool:
        """Abort the call if the policy does not allow it; False if it may go on (a denial
        aborts, which raises, so True is never returned)."""
        caller = caller_of(context)
        allowed = self._policy.allows(caller, method)
        decision = "allow" if allowed else "deny"
        self._decisions.add(1, {"caller": caller, "method": method, "decision": decision})
        if allowed:
            log.debug("call allowed", extra={"caller": caller, "method": method})
            return False
        log.warning("call denied", extra={"caller": caller, "method": method})
        error = kinds.PermissionDenied(
            f"{caller} may not call {method}",
            reason="CALLER_NOT_ALLOWED",
            metadata={"caller": spiffe_id(caller), "method": method},
        )
        await abort_with(context, error)
        return True  # not reached: abort raises

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        codecs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            behavior = handler.unary_unary

            async def unary(request: Any, context: Any) -> Any:
                await self._deny(context, method)
                return await behavior(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, **codecs)
        for kind, make in (
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        ):
            inner = getattr(handler, kind)
            if inner is not None:
                return make(self._guarded(inner, method), **codecs)
        return handler

    def _guarded(self, behavior: Behavior, method: str) -> Behavior:
        """A streaming behaviour behind the check. A handler may be an async generator or a
        coroutine that writes with context.write (health Watch is); both end up written."""

        async def guarded(request: Any, context: Any) -> Any:
            await self._deny(context, method)
            result = behavior(request, context)
            if inspect.isasyncgen(result):
                async for response in result:
                    await context.write(response)
                return None
            return await result

        return guarded
