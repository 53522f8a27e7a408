"""Failed logins on a real server hosting the gateway's servicer: after the allowed failures a
peer is refused with RESOURCE_EXHAUSTED and a retry delay, even with a good token, and the
failures make one log line per interval, not one each."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import error_details_pb2

from mesh.config import ServerConfig
from mesh.errors.status import details_of, reason_of
from mesh.faults.settings import FaultSettings
from mesh.server import Service
from services.gateway.domain import Customer
from services.gateway.rate_limit import FailedLogins
from services.gateway.servicer import GatewayServicer
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.servers.grpc_servers import local, serving
from tests.unit.services.gateway.upstreams import (
    FakeAccounts,
    FakeMarket,
    FakeOrders,
    fake_upstreams,
)

pytestmark = pytest.mark.integration

ALLOWED = 5
GUESSES = 12
GATEWAY_SERVICE = gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name


def gateway_service(servicer: GatewayServicer) -> Service:
    return Service(
        config=ServerConfig(
            name="gateway-test",
            listen_addr="127.0.0.1:0",
            shutdown_grace=1.0,
            log_level="INFO",
            shutdown_drain=0.05,
            faults=FaultSettings(),
        ),
        register=lambda server: gateway_pb2_grpc.add_GatewayServiceServicer_to_server(
            servicer, server
        ),
        service_names=[GATEWAY_SERVICE],
    )


async def test_failed_logins_are_throttled_per_peer_and_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    servicer = GatewayServicer(
        {"alice-token": Customer("alice", frozenset({"acc-alice"}))},
        fake_upstreams(FakeOrders(), FakeAccounts(), FakeMarket()),
        deadline=2.0,
        failed_logins=FailedLogins(max_failures=ALLOWED, log_interval_seconds=60),
    )
    request = gateway_pb2.GetPortfolioRequest(account_id="acc-alice")
    caplog.set_level(logging.INFO)
    outcomes: list[str] = []
    running = serving(gateway_service(servicer))
    async with running as host, grpc.aio.insecure_channel(local(host)) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        for n in range(GUESSES + 1):
            token = "alice-token" if n == GUESSES else f"guess-{n}"
            try:
                await stub.GetPortfolio(request, metadata=(("authorization", f"Bearer {token}"),))
                outcomes.append("OK")
            except grpc.aio.AioRpcError as error:
                outcomes.append(f"{error.code().name} {reason_of(error)}")
                last = error

    assert outcomes == [
        *["UNAUTHENTICATED INVALID_TOKEN"] * ALLOWED,
        *["RESOURCE_EXHAUSTED TOO_MANY_FAILED_LOGINS"] * (GUESSES + 1 - ALLOWED),
    ]
    retry = [d for d in details_of(last) if isinstance(d, error_details_pb2.RetryInfo)]
    assert [r.retry_delay.seconds > 0 for r in retry] == [True]
    lines = [r for r in caplog.records if r.getMessage() == "failed logins"]
    assert len(lines) == 1
    assert getattr(lines[0], "peer", "").startswith("ipv4:127.0.0.1")
    refused_lines = [r for r in caplog.records if r.getMessage() == "request refused"]
    assert refused_lines == []  # no line per failure
