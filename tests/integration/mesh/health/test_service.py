"""grpc.health.v1 on a real ServiceHost: Check answers, and Watch follows the required checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.errors.status import details_of
from mesh.health.service import CHECK_INTERVAL_SECONDS, MAX_WATCHES
from mesh.server import ServiceHost
from tests.support.servers.grpc_servers import (
    FEE_SERVICE,
    FakeFeeServicer,
    fee_service,
    local,
    serving,
)
from tests.support.servers.health_watch import NOT_SERVING, SERVING, status_name, watching

pytestmark = pytest.mark.integration

# The health reporter re-runs the checks every CHECK_INTERVAL_SECONDS: a flip shows within that.
FLIP_TIMEOUT_SECONDS = CHECK_INTERVAL_SECONDS + 3.0


class Switch:
    """A dependency check whose answer the test flips."""

    def __init__(self) -> None:
        self.healthy = True
        self.error: Exception | None = None

    async def check(self) -> bool:
        if self.error is not None:
            raise self.error
        return self.healthy


@pytest.fixture
def dependency() -> Switch:
    return Switch()


@pytest.fixture
async def host(dependency: Switch) -> AsyncIterator[ServiceHost]:
    service = fee_service(FakeFeeServicer(), required_checks={"dependency": dependency.check})
    async with serving(service) as running:
        yield running


@pytest.fixture
async def channel(host: ServiceHost) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(local(host)) as opened:
        yield opened


async def check(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    status: int = response.status
    return status


@pytest.mark.parametrize("service", ["", FEE_SERVICE], ids=["overall", "service"])
async def test_check_answers_serving_for_the_server_and_for_its_service(
    channel: grpc.aio.Channel, service: str
) -> None:
    assert status_name(await check(channel, service)) == "SERVING"


async def test_check_of_a_service_nobody_serves_is_not_found(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await check(channel, "simplebank.nothing.v1.NothingService")

    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_watch_follows_a_required_check_from_serving_to_not_serving_and_back(
    channel: grpc.aio.Channel, dependency: Switch
) -> None:
    async with watching(channel, "") as overall, watching(channel, FEE_SERVICE) as service:
        watches = {"": overall, FEE_SERVICE: service}
        first = {
            name: await w.wait_for(SERVING, FLIP_TIMEOUT_SECONDS) for name, w in watches.items()
        }

        dependency.healthy = False
        down = {
            name: await w.wait_for(NOT_SERVING, FLIP_TIMEOUT_SECONDS, after=first[name] + 1)
            for name, w in watches.items()
        }
        for name in watches:
            assert status_name(await check(channel, name)) == "NOT_SERVING"

        dependency.healthy = True
        for name, w in watches.items():
            await w.wait_for(SERVING, FLIP_TIMEOUT_SECONDS, after=down[name] + 1)
            assert status_name(await check(channel, name)) == "SERVING"


async def test_a_check_that_raises_counts_as_failing(
    channel: grpc.aio.Channel, dependency: Switch
) -> None:
    async with watching(channel, "") as watch:
        first = await watch.wait_for(SERVING, FLIP_TIMEOUT_SECONDS)

        dependency.error = ConnectionError("database is gone")

        await watch.wait_for(NOT_SERVING, FLIP_TIMEOUT_SECONDS, after=first + 1)


async def test_watch_streams_beyond_the_cap_are_refused_and_the_others_keep_watching(
    host: ServiceHost,
) -> None:
    # Several connections (channels share one unless told not to): each carries at most
    # MAX_CONCURRENT_STREAMS streams at once, the rest would wait on the client's side.
    own_connection = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(local(host), options=own_connection) for _ in range(3)]
    calls = []
    try:
        for n in range(MAX_WATCHES):
            stub = health_pb2_grpc.HealthStub(channels[n % len(channels)])
            call = stub.Watch(health_pb2.HealthCheckRequest(service=""))
            assert (await call.read()).status == SERVING  # open and counted before the next
            calls.append(call)
        over = health_pb2_grpc.HealthStub(channels[0]).Watch(health_pb2.HealthCheckRequest())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await asyncio.wait_for(over.read(), 10)
        calls[0].cancel()
        await asyncio.sleep(0.2)
        again = health_pb2_grpc.HealthStub(channels[1]).Watch(health_pb2.HealthCheckRequest())
        reopened = (await asyncio.wait_for(again.read(), 10)).status
        again.cancel()
    finally:
        for call in calls:
            call.cancel()
        for channel in channels:
            await channel.close(None)

    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details_of(refused.value)
    assert any(isinstance(d, error_details_pb2.RetryInfo) for d in found)
    assert reopened == SERVING  # a slot freed is a slot for the next watcher
