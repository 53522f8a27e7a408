"""Deadline propagation: a call made while serving another never outlives the caller's deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from mesh.interceptor import Behavior, Continuation, UnaryClientInterceptor, UnaryServerInterceptor

# Monotonic time by which the call being served must be answered, if its caller set one.
_deadline: ContextVar[float | None] = ContextVar("simplebank_deadline", default=None)

# Time kept back for the answer to travel back up, so the caller is not answered too late.
# 50 ms, not less: on two loaded cores a caller's own cancellation otherwise reaches the callee
# before the callee's timeout fires, and its circuit breaker never sees the failure.
MARGIN_SECONDS = 0.05


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


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Cap the time left for everything done inside, whatever the caller allowed."""
    left = remaining()
    cap = time.monotonic() + (seconds if left is None else min(seconds, left))
    token = _deadline.set(cap)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def detached() -> Iterator[None]:
    """Forget the caller's deadline: for clean-up that must run even after it has passed."""
    token = _deadline.set(None)
    try:
        yield
    finally:
        _deadline.reset(token)


class DeadlineServerInterceptor(UnaryServerInterceptor):
    """Remembers each incoming call's deadline for the outgoing calls made while serving it."""

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        left = context.time_remaining()
        token = _deadline.set(None if left is None else time.monotonic() + left)
        try:
            return await behavior(request, context)
        finally:
            _deadline.reset(token)


class DeadlineClientInterceptor(UnaryClientInterceptor):
    """Gives each outgoing call a timeout: its own, else the channel's default, and never more
    than what is left of the caller's deadline."""

    def __init__(self, default_timeout: float | None = None) -> None:
        self._default_timeout = default_timeout

    async def around(self, continuation: Continuation, details: Any, request: Any) -> Any:
        own = details.timeout
        timeout = bounded(self._default_timeout if own is None else own)
        if timeout != details.timeout:
            details = details._replace(timeout=timeout)
        return await continuation(details, request)
