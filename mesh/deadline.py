"""Deadline propagation: a call made while serving another never outlives the caller's deadline."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc

from mesh.interceptor import Behavior, UnaryServerInterceptor

# Monotonic time by which the call being served must be answered, if its caller set one.
_deadline: ContextVar[float | None] = ContextVar("simplebank_deadline", default=None)

# Time kept back for the answer to travel back up, so the caller is not answered too late.
MARGIN_SECONDS = 0.005


def remaining() -> float | None:
    """Seconds left of the caller's deadline, or None when nobody set one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def bounded(timeout: float | None) -> float | None:
    """The shorter of a call's own timeout and what is left of the caller's deadline."""
    left = remaining()
    if left is None:
        return timeout
    left = max(left - MARGIN_SECONDS, 0.0)
    return left if timeout is None else min(timeout, left)


class DeadlineServerInterceptor(UnaryServerInterceptor):
    """Remembers each incoming call's deadline for the outgoing calls made while serving it."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        left = context.time_remaining()
        token = _deadline.set(None if left is None else time.monotonic() + left)
        try:
            return await behavior(request, context)
        finally:
            _deadline.reset(token)


class DeadlineClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Shortens each outgoing call's timeout to what is left of the caller's deadline."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[Any, Any], Awaitable[Any]],
        client_call_details: Any,
        request: Any,
    ) -> Any:
        timeout = bounded(client_call_details.timeout)
        if timeout != client_call_details.timeout:
            client_call_details = client_call_details._replace(timeout=timeout)
        return await continuation(client_call_details, request)
