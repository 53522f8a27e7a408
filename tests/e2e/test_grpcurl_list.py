"""grpcurl finds every service of the mesh through reflection, with health, reflection and the
fault service."""

from __future__ import annotations

import pytest

from tests.e2e.launcher import LaunchedMesh

pytestmark = pytest.mark.e2e

SERVICES = {
    "gateway": "simplebank.gateway.v1.GatewayService",
    "orders": "simplebank.orders.v1.OrderService",
    "accounts": "simplebank.accounts.v1.AccountService",
    "fees": "simplebank.fees.v1.FeeService",
    "market": "simplebank.market.v1.MarketService",
}


@pytest.mark.parametrize("service", SERVICES)
def test_grpcurl_list_shows_the_service_with_health_and_reflection(
    mesh: LaunchedMesh, service: str
) -> None:
    listed = mesh.grpcurl(service, "list")

    assert listed.returncode == 0, listed.output
    # FaultService only on the mTLS ports (to the operator), never on the gateway's public one.
    faults = [] if service == "gateway" else ["simplebank.ops.v1.FaultService"]
    assert sorted(listed.output.split()) == sorted(
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
            SERVICES[service],
            *faults,
        ]
    )
