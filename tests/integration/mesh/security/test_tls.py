"""The chassis' listeners: TLS for the public port (no client certificate asked), mTLS with the
authorization policy for internal ones, streaming calls (health Watch) checked like unary ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.security.policy import DEFAULT_POLICY, Policy
from mesh.security.tls import ChannelTls, Listener, MeshTls
from mesh.server import Service
from tests.support.servers.grpc_servers import FakeFeeServicer, fee_service, local, serving
from tooling.cli import certs

pytestmark = pytest.mark.integration

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    certs.ensure(folder)
    return folder


def secured(certs_dir: Path, listener: Listener) -> Service:
    """A fee service presenting the fees identity on `listener`, with the mesh's policy on mTLS."""
    service = fee_service(FakeFeeServicer())
    config = dataclasses.replace(
        service.config,
        tls=MeshTls("fees", certs_dir),
        listener=listener,
        policy=Policy.load(DEFAULT_POLICY) if listener is Listener.MTLS else None,
    )
    return dataclasses.replace(service, config=config)


def channel_as(identity: str, certs_dir: Path, address: str) -> grpc.aio.Channel:
    tls = ChannelTls(MeshTls(identity, certs_dir), "fees")
    return grpc.aio.secure_channel(address, tls.credentials(), options=tls.options())


async def test_a_tls_listener_takes_a_client_without_a_certificate(certs_dir: Path) -> None:
    ca = (certs_dir / "ca.crt").read_bytes()
    options = [("grpc.ssl_target_name_override", "fees.simplebank.local")]
    async with serving(secured(certs_dir, Listener.TLS)) as host:
        credentials = grpc.ssl_channel_credentials(ca)
        async with grpc.aio.secure_channel(local(host), credentials, options) as channel:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )

    assert answer.status == SERVING


async def test_an_mtls_listener_refuses_a_client_without_a_certificate(certs_dir: Path) -> None:
    ca = (certs_dir / "ca.crt").read_bytes()
    options = [("grpc.ssl_target_name_override", "fees.simplebank.local")]
    async with serving(secured(certs_dir, Listener.MTLS)) as host:
        credentials = grpc.ssl_channel_credentials(ca)
        async with grpc.aio.secure_channel(local(host), credentials, options) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=5
                )

    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_the_probe_may_watch_health_and_a_service_identity_may_not(certs_dir: Path) -> None:
    request = health_pb2.HealthCheckRequest()
    async with serving(secured(certs_dir, Listener.MTLS)) as host:
        async with channel_as("probe", certs_dir, local(host)) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(request, timeout=5)
            first = await watch.read()
            watch.cancel()
        async with channel_as("market", certs_dir, local(host)) as channel:
            denied = health_pb2_grpc.HealthStub(channel).Watch(request, timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await denied.read()

    assert first.status == SERVING
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
