"""Zero trust inside the mesh: only callers with a certificate of the mesh's CA get in, each may
call what the policy lets it, services check whom they reached, and NATS users stay in their lane.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import nats
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.errors.status import details_of
from mesh.events.bus import subject_for
from mesh.security.tls import MeshTls
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from tests.support.data import jetstream
from tests.support.data.customer import Customer
from tests.support.servers.certs import channel_as
from tests.support.servers.mesh import Mesh
from tests.support.tools.grpcurl import grpcurl, identity_flags
from tooling.cli import certs

pytestmark = pytest.mark.integration

INTERNAL = ("orders", "accounts", "fees", "market")
TIMEOUT = 5.0
RESERVE = "/simplebank.accounts.v1.AccountService/ReserveHoldings"


def health(channel: grpc.Channel) -> int:
    request = health_pb2.HealthCheckRequest()
    return int(health_pb2_grpc.HealthStub(channel).Check(request, timeout=TIMEOUT).status)


def refusal(call: grpc.RpcError) -> grpc.StatusCode:
    return call.code()


def reserve(channel: grpc.Channel, order_id: str) -> accounts_pb2.ReserveHoldingsResponse:
    request = accounts_pb2.ReserveHoldingsRequest(
        order_id=order_id,
        account_id="acc-alice",
        symbol="AAPL",
        quantity=1,
        attempt_id=f"{order_id}-attempt",
    )
    return accounts_pb2_grpc.AccountServiceStub(channel).ReserveHoldings(request, timeout=TIMEOUT)


@pytest.mark.parametrize("service", INTERNAL)
def test_a_plaintext_call_to_an_internal_service_is_refused(mesh: Mesh, service: str) -> None:
    with grpc.insecure_channel(mesh.addrs[service]) as channel, pytest.raises(grpc.RpcError) as e:
        health(channel)

    assert refusal(e.value) is grpc.StatusCode.UNAVAILABLE


def test_a_certificate_from_another_ca_is_refused(mesh: Mesh, tmp_path: Path) -> None:
    """The client trusts the real CA (so only the server's check can fail) and presents an
    orders certificate that a CA of its own signed."""
    rogue = tmp_path / "rogue"
    certs.ensure(rogue)
    key, cert, _ = MeshTls("orders", rogue).read()
    real_ca = (mesh.certs_dir / "ca.crt").read_bytes()
    credentials = grpc.ssl_channel_credentials(real_ca, key, cert)
    options = [("grpc.ssl_target_name_override", "accounts.simplebank.local")]
    channel = grpc.secure_channel(mesh.addrs["accounts"], credentials, options)
    with channel, pytest.raises(grpc.RpcError) as refused:
        reserve(channel, f"rogue-{uuid.uuid4()}")

    assert refusal(refused.value) is grpc.StatusCode.UNAVAILABLE


def test_the_gateway_identity_may_not_reserve_holdings(mesh: Mesh) -> None:
    with mesh.channel_as("gateway", "accounts") as channel, pytest.raises(grpc.RpcError) as e:
        reserve(channel, f"gateway-{uuid.uuid4()}")

    assert refusal(e.value) is grpc.StatusCode.PERMISSION_DENIED
    info = next(d for d in details_of(e.value) if isinstance(d, error_details_pb2.ErrorInfo))
    assert info.reason == "CALLER_NOT_ALLOWED"
    assert dict(info.metadata) == {"caller": "spiffe://simplebank.local/gateway", "method": RESERVE}
    denials = mesh.log_lines_with('"call denied"')
    assert any('"caller": "gateway"' in line and RESERVE in line for line in denials), denials


def test_the_orders_identity_may_reserve_and_release_holdings(mesh: Mesh) -> None:
    order_id = f"zero-trust-{uuid.uuid4()}"
    with mesh.channel_as("orders", "accounts") as channel:
        reserved = reserve(channel, order_id)
        released = accounts_pb2_grpc.AccountServiceStub(channel).ReleaseHoldings(
            accounts_pb2.ReleaseHoldingsRequest(
                order_id=order_id, attempt_id=f"{order_id}-attempt"
            ),
            timeout=TIMEOUT,
        )

    assert reserved.position.symbol == "AAPL"
    assert released.released


def test_a_channel_refuses_a_server_that_is_not_the_service_it_meant(mesh: Mesh) -> None:
    """orders means to call accounts but is sent to fees: fees' certificate is the mesh's, yet
    not accounts', so the handshake fails before any request leaves."""
    channel = channel_as("orders", mesh.certs_dir, mesh.addrs["fees"], "accounts")
    with channel, pytest.raises(grpc.RpcError) as refused:
        reserve(channel, f"misrouted-{uuid.uuid4()}")

    assert refusal(refused.value) is grpc.StatusCode.UNAVAILABLE


def test_the_probe_may_check_health_and_nothing_else(mesh: Mesh) -> None:
    with mesh.channel_as("probe", "accounts") as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as refused:
            reserve(channel, f"probe-{uuid.uuid4()}")

    assert refusal(refused.value) is grpc.StatusCode.PERMISSION_DENIED


def test_the_operator_lists_describes_and_checks_health_with_grpcurl(mesh: Mesh) -> None:
    operator = identity_flags(mesh.certs_dir, "operator")
    address = mesh.addrs["orders"]

    listed = asyncio.run(grpcurl(address, "list", transport=operator))
    described = asyncio.run(
        grpcurl(address, "describe", "simplebank.orders.v1.OrderService", transport=operator)
    )
    checked = asyncio.run(grpcurl(address, "grpc.health.v1.Health/Check", transport=operator))
    plaintext = asyncio.run(grpcurl(address, "list"))

    assert listed.stdout.split() == [
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "simplebank.ops.v1.FaultService",
        "simplebank.orders.v1.OrderService",
    ], listed.stderr
    assert "rpc PlaceOrder" in described.stdout, described.stderr
    assert '"status": "SERVING"' in checked.stdout, checked.stderr
    assert plaintext.returncode != 0


def test_a_service_nats_user_cannot_publish_another_services_event(mesh: Mesh) -> None:
    """fees owns FeeCharged, not OrderExecuted: NATS refuses the publish and stores nothing."""
    subject = subject_for("OrderExecuted")
    before = asyncio.run(jetstream.message_counts(mesh.nats.url, mesh.certs_dir)).get(subject, 0)

    violations = asyncio.run(publish_as("fees", mesh, subject))

    after = asyncio.run(jetstream.message_counts(mesh.nats.url, mesh.certs_dir)).get(subject, 0)
    assert after == before
    # nats-py lower-cases the server's -ERR line.
    refused = f'permissions violation for publish to "{subject.lower()}"'
    assert any(refused in violation for violation in violations), violations


async def publish_as(identity: str, mesh: Mesh, subject: str) -> list[str]:
    """Publish as `identity`'s NATS user; the errors the server sent back."""
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    client = await nats.connect(
        mesh.nats.url,
        tls=MeshTls(identity, mesh.certs_dir).ssl_context(),
        error_cb=on_error,
        max_reconnect_attempts=0,
        inbox_prefix=f"_INBOX.{identity}",
    )
    try:
        with pytest.raises(nats.errors.TimeoutError):  # JetStream never saw it: no ack comes
            await client.jetstream(timeout=1.0).publish(subject, b"forged", headers={})
        await client.flush()
    finally:
        await client.close()
    return errors


def test_customer_tokens_never_reach_the_logs(mesh: Mesh, alice: Customer) -> None:
    alice.portfolio()
    with pytest.raises(grpc.RpcError) as refused:
        mesh.customer("a-guessed-secret-token", "acc-alice").portfolio()

    assert refusal(refused.value) is grpc.StatusCode.UNAUTHENTICATED
    assert mesh.log_lines_with("alice-token") == []
    assert mesh.log_lines_with("a-guessed-secret-token") == []
