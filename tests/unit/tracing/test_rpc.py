"""tracing.rpc.traced_calls: every call is traced but health checks and reflection."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from grpc.aio import ClientCallDetails

from tracing.rpc import traced_calls


@dataclass
class HandlerDetails:
    """What a grpc.aio server hands its interceptors: the method as str."""

    method: str


@pytest.mark.parametrize(
    ("method", "traced"),
    [
        ("/simplebank.orders.v1.OrderService/PlaceOrder", True),
        ("/simplebank.ops.v1.FaultService/SetFault", True),
        ("/grpc.health.v1.Health/Check", False),
        ("/grpc.health.v1.Health/Watch", False),
        ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", False),
        ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", False),
    ],
)
def test_served_and_made_calls_alike(method: str, traced: bool) -> None:
    decide = traced_calls()
    assert decide(HandlerDetails(method)) is traced
    # A channel's interceptors get the method as bytes (grpc/grpc#31092).
    made = ClientCallDetails(method.encode(), 1.0, None, None, None)  # type: ignore[arg-type]
    assert decide(made) is traced
