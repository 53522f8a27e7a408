"""Real chassis servers for tests: a FeeService whose behaviour each test supplies, on port 0."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import grpc

from mesh.config import ServerConfig
from mesh.convert import money
from mesh.faults.settings import FaultSettings
from mesh.health.service import Check
from mesh.server import Service, ServiceHost
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc

FEE_SERVICE = fees_pb2.DESCRIPTOR.services_by_name["FeeService"].full_name
QUOTE_FEE = f"/{FEE_SERVICE}/QuoteFee"

Context = grpc.aio.ServicerContext[Any, Any]
QuoteHandler = Callable[[fees_pb2.QuoteFeeRequest, Context], Awaitable[fees_pb2.QuoteFeeResponse]]


async def quote_100(
    request: fees_pb2.QuoteFeeRequest, context: Context
) -> fees_pb2.QuoteFeeResponse:
    """A handler that always answers a fee of 100 minor units."""
    return fees_pb2.QuoteFeeResponse(fee=money(100))


class FakeFeeServicer(fees_pb2_grpc.FeeServiceServicer):
    """Runs the handler a test gives it and counts the attempts that reached it."""

    def __init__(self, handle: QuoteHandler = quote_100) -> None:
        self.handle = handle
        self.attempts = 0
        self.started: list[float] = []  # time.monotonic() of each attempt

    async def QuoteFee(
        self, request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        self.attempts += 1
        self.started.append(time.monotonic())
        return await self.handle(request, context)


def fee_service(
    servicer: fees_pb2_grpc.FeeServiceServicer,
    *,
    required_checks: Mapping[str, Check] | None = None,
    shutdown_grace: float = 1.0,
    listen_addr: str = "127.0.0.1:0",
    faults: FaultSettings | None = None,
) -> Service:
    """A chassis Service that serves `servicer` as simplebank.fees.v1.FeeService."""
    return Service(
        config=ServerConfig(
            name="fees-test",
            listen_addr=listen_addr,
            shutdown_grace=shutdown_grace,
            log_level="INFO",
            shutdown_drain=0.05,
            faults=faults or FaultSettings(),
        ),
        register=lambda server: fees_pb2_grpc.add_FeeServiceServicer_to_server(servicer, server),
        service_names=[FEE_SERVICE],
        required_checks=dict(required_checks or {}),
    )


@asynccontextmanager
async def serving(service: Service) -> AsyncIterator[ServiceHost]:
    """Start a ServiceHost for the block (its `.port` is bound), and stop it after."""
    host = ServiceHost(service)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


def local(host: ServiceHost) -> str:
    """The address a client dials to reach a host started on 127.0.0.1:0."""
    return f"127.0.0.1:{host.port}"


def quote_request() -> fees_pb2.QuoteFeeRequest:
    return fees_pb2.QuoteFeeRequest(symbol="AAPL", quantity=10, notional=money(150_000))


@asynccontextmanager
async def fake_fee_host(
    handle: QuoteHandler = quote_100,
) -> AsyncIterator[tuple[FakeFeeServicer, str]]:
    """A ServiceHost serving a FakeFeeServicer with `handle`; yields it and its address."""
    servicer = FakeFeeServicer(handle)
    async with serving(fee_service(servicer)) as host:
        yield servicer, local(host)
