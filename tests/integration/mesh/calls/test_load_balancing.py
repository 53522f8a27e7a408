"""make_channel over two real replicas: calls go round both, and a replica that says
NOT_SERVING, or goes away, stops getting calls."""

from __future__ import annotations

import pytest

from mesh.calls.channels import CallPolicy, make_channel
from simplebank.fees.v1 import fees_pb2_grpc
from tests.support.data.events import eventually
from tests.support.servers.grpc_servers import (
    FakeFeeServicer,
    fee_service,
    local,
    quote_request,
    serving,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("spans")]

CALLS = 20
TIMEOUT_SECONDS = 15.0


class Switch:
    """A required health check a test turns off to make its replica say NOT_SERVING."""

    def __init__(self) -> None:
        self.on = True

    async def __call__(self) -> bool:
        return self.on


async def calls_to(
    stub: fees_pb2_grpc.FeeServiceAsyncStub, servicers: list[FakeFeeServicer]
) -> list[int]:
    """Make CALLS calls; how many each replica got."""
    before = [len(s.started) for s in servicers]
    for _ in range(CALLS):
        await stub.QuoteFee(quote_request(), timeout=5.0)
    return [len(s.started) - b for s, b in zip(servicers, before, strict=True)]


async def test_calls_spread_over_replicas_and_skip_one_not_serving_or_gone() -> None:
    servicers = [FakeFeeServicer(), FakeFeeServicer()]
    switches = [Switch(), Switch()]
    services = [
        fee_service(s, required_checks={"switch": w})
        for s, w in zip(servicers, switches, strict=True)
    ]
    async with serving(services[0]) as first, serving(services[1]) as second:
        target = f"{local(first)},{local(second)}"
        async with make_channel(target, CallPolicy(timeout_seconds=5.0)) as channel:
            stub: fees_pb2_grpc.FeeServiceAsyncStub = fees_pb2_grpc.FeeServiceStub(channel)

            spread = await calls_to(stub, servicers)
            assert min(spread) > 0, f"calls per replica: {spread}"

            switches[1].on = False

            async def only_first() -> bool:
                return (await calls_to(stub, servicers))[1] == 0

            await eventually(only_first, TIMEOUT_SECONDS, "the NOT_SERVING replica left out")

            switches[1].on = True

            async def both_again() -> bool:
                return min(await calls_to(stub, servicers)) > 0

            await eventually(both_again, TIMEOUT_SECONDS, "the replica serving again gets calls")

            await first.stop()

            async def only_second() -> bool:
                return (await calls_to(stub, servicers))[0] == 0

            await eventually(only_second, TIMEOUT_SECONDS, "the stopped replica left out")
