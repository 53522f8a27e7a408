"""The real grpcurl finds everything a ServiceHost serves through reflection, no proto files."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mesh.server import ServiceHost
from tests.support.servers.grpc_servers import (
    FEE_SERVICE,
    FakeFeeServicer,
    fee_service,
    local,
    serving,
)
from tests.support.tools.grpcurl import Result, grpcurl, require_grpcurl

pytestmark = pytest.mark.integration


@pytest.fixture
async def host() -> AsyncIterator[ServiceHost]:
    require_grpcurl()
    async with serving(fee_service(FakeFeeServicer())) as running:
        yield running


def succeeded(result: Result) -> str:
    assert result.returncode == 0, f"grpcurl exited {result.returncode}: {result.stderr}"
    return result.stdout


async def test_list_shows_the_service_health_and_reflection(host: ServiceHost) -> None:
    listed = succeeded(await grpcurl(local(host), "list")).split()

    for service in (
        FEE_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ):
        assert service in listed


async def test_describe_a_method_shows_its_proto_comment(host: ServiceHost) -> None:
    described = succeeded(await grpcurl(local(host), "describe", f"{FEE_SERVICE}.QuoteFee"))

    assert "Quotes the fee for selling at a notional value, from the current schedule." in described
    assert "rpc QuoteFee ( .simplebank.fees.v1.QuoteFeeRequest )" in described


async def test_describe_a_message_shows_its_field_comments(host: ServiceHost) -> None:
    described = succeeded(
        await grpcurl(local(host), "describe", "simplebank.fees.v1.QuoteFeeRequest")
    )

    assert "// Shares to sell." in described
    assert "int64 quantity = 2;" in described


async def test_a_call_through_grpcurl_returns_the_servicer_answer_as_json(
    host: ServiceHost,
) -> None:
    answer = succeeded(
        await grpcurl(
            "-d", '{"symbol": "AAPL", "quantity": 1}', local(host), f"{FEE_SERVICE}/QuoteFee"
        )
    )

    assert '"minorUnits": "100"' in answer


@pytest.mark.parametrize(
    "symbol",
    ["simplebank.orders.v1.OrderService", "simplebank.ops.v1.FaultService.SetFault"],
)
async def test_contracts_of_services_not_served_here_are_not_shown(
    host: ServiceHost, symbol: str
) -> None:
    """The gateway's public port describes the public contract, not the mesh's internal ones."""
    described = await grpcurl(local(host), "describe", symbol)

    assert described.returncode != 0
    assert "not found" in described.stderr.lower(), described.stderr
