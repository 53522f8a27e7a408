"""Bases for the interceptors that wrap each unary call, on the server and on a channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Behavior = Callable[[Any, Any], Awaitable[Any]]
Continuation = Callable[[Any, Any], Awaitable[Any]]


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


class UnaryClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Calls `around` for every unary-unary call a channel makes: the client-side twin."""

    async def around(self, continuation: Continuation, details: Any, request: Any) -> Any:
        raise NotImplementedError

    async def intercept_unary_unary(
        self, continuation: Continuation, client_call_details: Any, request: Any
    ) -> Any:
        return await self.around(continuation, client_call_details, request)
