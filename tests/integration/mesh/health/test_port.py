"""The plaintext health port (<SERVICE>_HEALTH_ADDR) of a service whose own port takes only mTLS:
health for a caller without a certificate, the same status as the main port, and nothing else."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from mesh.health.service import CHECK_INTERVAL_SECONDS
from mesh.security.policy import DEFAULT_POLICY, Policy
from mesh.security.tls import ChannelTls, Listener, MeshTls
from mesh.server import Service, ServiceHost
from simplebank.fees.v1 import fees_pb2_grpc
from simplebank.ops.v1 import ops_pb2, ops_pb2_grpc
from tests.support.servers.certs import mesh_certs
from tests.support.servers.grpc_servers import (
    FakeFeeServicer,
    fee_service,
    local,
    quote_request,
    serving,
)
from tests.support.servers.health_watch import NOT_SERVING, SERVING, status_name

pytestmark = pytest.mark.integration

# The health reporter re-runs the checks every CHECK_INTERVAL_SECONDS: a flip shows within that.
FLIP_TIMEOUT_SECONDS = CHECK_INTERVAL_SECONDS + 3.0


class Switch:
    """A dependency check whose answer the test flips."""

    def __init__(self) -> None:
        self.healthy = True

    async def check(self) -> bool:
        return self.healthy


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mesh_certs(tmp_path_factory.mktemp("health-port"))


@pytest.fixture
def dependency() -> Switch:
    return Switch()


def with_health_port(certs_dir: Path, dependency: Switch, *, drain: float = 0.05) -> Service:
    """A fee service on mTLS with the mesh's policy, and its health on a plaintext port too."""
    service = fee_service(FakeFeeServicer(), required_checks={"dependency": dependency.check})
    config = dataclasses.replace(
        service.config,
        tls=MeshTls("fees", certs_dir),
        listener=Listener.MTLS,
        policy=Policy.load(DEFAULT_POLICY),
        health_addr="127.0.0.1:0",
        shutdown_drain=drain,
    )
    return dataclasses.replace(service, config=config)


def health_address(host: ServiceHost) -> str:
    assert host.health_port is not None
    return f"127.0.0.1:{host.health_port.port}"


@pytest.fixture
async def host(certs_dir: Path, dependency: Switch) -> AsyncIterator[ServiceHost]:
    async with serving(with_health_port(certs_dir, dependency)) as running:
        yield running


@pytest.fixture
async def plaintext(host: ServiceHost) -> AsyncIterator[grpc.aio.Channel]:
    """A caller with no certificate at all, such as the kubelet."""
    async with grpc.aio.insecure_channel(health_address(host)) as channel:
        yield channel


async def status(channel: grpc.aio.Channel) -> str:
    stub = health_pb2_grpc.HealthStub(channel)
    answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
    return status_name(answer.status)


async def status_becomes(channel: grpc.aio.Channel, wanted: int) -> str:
    """Check until the answer is `wanted` or the flip timeout passes; the last answer."""
    deadline = asyncio.get_running_loop().time() + FLIP_TIMEOUT_SECONDS
    seen = await status(channel)
    while seen != status_name(wanted) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        seen = await status(channel)
    return seen


async def test_a_caller_without_a_certificate_gets_health_on_the_health_port(
    plaintext: grpc.aio.Channel,
) -> None:
    assert await status(plaintext) == "SERVING"


async def test_the_main_port_still_refuses_a_caller_without_a_certificate(
    host: ServiceHost,
) -> None:
    async with grpc.aio.insecure_channel(local(host)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await status(channel)

    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_the_health_port_serves_no_business_method(plaintext: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await fees_pb2_grpc.FeeServiceStub(plaintext).QuoteFee(quote_request(), timeout=30)

    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_the_health_port_serves_no_fault_service(plaintext: grpc.aio.Channel) -> None:
    stub = ops_pb2_grpc.FaultServiceStub(plaintext)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ListFaults(ops_pb2.ListFaultsRequest(), timeout=30)

    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_the_health_port_serves_no_reflection(plaintext: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(plaintext)
    calls = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=30
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in calls:
            pass

    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_both_ports_say_not_serving_while_a_required_dependency_is_down(
    host: ServiceHost, plaintext: grpc.aio.Channel, dependency: Switch, certs_dir: Path
) -> None:
    tls = ChannelTls(MeshTls("probe", certs_dir), "fees")
    async with grpc.aio.secure_channel(local(host), tls.credentials(), tls.options()) as mtls:
        dependency.healthy = False
        down = (await status_becomes(plaintext, NOT_SERVING), await status(mtls))
        dependency.healthy = True
        up = (await status_becomes(plaintext, SERVING), await status(mtls))

    assert down == ("NOT_SERVING", "NOT_SERVING")
    assert up == ("SERVING", "SERVING")


async def test_the_health_port_says_not_serving_while_the_service_drains(
    certs_dir: Path, dependency: Switch
) -> None:
    host = ServiceHost(with_health_port(certs_dir, dependency, drain=5.0))
    await host.start()
    async with grpc.aio.insecure_channel(health_address(host)) as channel:
        before = await status(channel)
        stopping = asyncio.create_task(host.stop())
        during = await status_becomes(channel, NOT_SERVING)
        await stopping

    assert (before, during) == ("SERVING", "NOT_SERVING")


async def test_without_a_health_address_there_is_no_health_port() -> None:
    async with serving(fee_service(FakeFeeServicer())) as host:
        assert host.health_port is None
