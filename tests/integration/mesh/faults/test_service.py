"""Faults on a real ServiceHost through the real grpcurl: off by default, checked, injected into
calls with a span event, and cleared."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mesh.config import ConfigError
from mesh.errors.status import reason_of
from mesh.faults.settings import Fault, FaultSettings
from mesh.server import ServiceHost
from simplebank.fees.v1 import fees_pb2_grpc
from tests.support.data.tracing import wait_for_spans
from tests.support.servers.grpc_servers import (
    FEE_SERVICE,
    QUOTE_FEE,
    FakeFeeServicer,
    fee_service,
    local,
    quote_request,
    serving,
)
from tests.support.tools.grpcurl import Result, grpcurl, require_grpcurl

pytestmark = pytest.mark.integration

FAULTS = "simplebank.ops.v1.FaultService"
ON = FaultSettings(enabled=True)


async def ops(host: ServiceHost, method: str, request: object) -> Result:
    return await grpcurl("-d", json.dumps(request), local(host), f"{FAULTS}/{method}")


@pytest.fixture
async def faulty() -> AsyncIterator[tuple[ServiceHost, FakeFeeServicer]]:
    require_grpcurl()
    servicer = FakeFeeServicer()
    async with serving(fee_service(servicer, faults=ON)) as host:
        yield host, servicer


async def quote_code(host: ServiceHost) -> tuple[grpc.StatusCode, str]:
    async with grpc.aio.insecure_channel(local(host)) as channel:
        try:
            await fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request())
        except grpc.aio.AioRpcError as error:
            return error.code(), reason_of(error)
    return grpc.StatusCode.OK, ""


async def test_the_fault_service_is_listed_but_refuses_every_call_when_off() -> None:
    require_grpcurl()
    async with serving(fee_service(FakeFeeServicer())) as host:
        listed = (await grpcurl(local(host), "list")).stdout.split()
        refused = await ops(host, "ListFaults", {})

    assert FAULTS in listed
    assert refused.returncode != 0
    assert "Code: PermissionDenied" in refused.stderr
    assert '"reason": "FAULTS_DISABLED"' in refused.stderr
    assert "OPS_FAULTS_ENABLED=true" in refused.stderr


async def test_a_bad_fault_is_refused_with_a_field_violation_for_each_bad_field(
    faulty: tuple[ServiceHost, FakeFeeServicer],
) -> None:
    host, _ = faulty
    fault = {"target": "/nope.Service/Nothing", "error_code": "UNAVAILABLED", "percent": 101}

    refused = await ops(host, "SetFault", {"fault": fault})

    assert "Code: InvalidArgument" in refused.stderr, refused.stderr
    for field in ("fault.target", "fault.error_code", "fault.percent"):
        assert f'"field": "{field}"' in refused.stderr


async def test_a_set_fault_fails_the_calls_it_targets_until_it_is_cleared(
    faulty: tuple[ServiceHost, FakeFeeServicer], spans: InMemorySpanExporter
) -> None:
    host, servicer = faulty
    fault = {"target": QUOTE_FEE, "error_code": "UNAVAILABLE", "percent": 100}

    set_ = await ops(host, "SetFault", {"fault": fault})
    listed = json.loads((await ops(host, "ListFaults", {})).stdout)
    failed = await quote_code(host)
    cleared = json.loads((await ops(host, "ClearFaults", {})).stdout)
    after = await quote_code(host)

    assert set_.returncode == 0, set_.stderr
    assert listed["faults"] == [{"target": QUOTE_FEE, "errorCode": "UNAVAILABLE", "percent": 100}]
    assert f"/{FEE_SERVICE}/QuoteFee" in listed["targets"]
    assert failed == (grpc.StatusCode.UNAVAILABLE, "FAULT_INJECTED")
    assert servicer.attempts == 1  # the failed call never reached the handler
    assert cleared == {"cleared": 1}
    assert after == (grpc.StatusCode.OK, "")
    server_spans = await wait_for_spans(
        spans,
        lambda found: sum(s.kind == SpanKind.SERVER and s.name == QUOTE_FEE for s in found) >= 2,
    )
    hit = next(s for s in server_spans if s.kind == SpanKind.SERVER and s.name == QUOTE_FEE)
    assert hit.events[0].name == "fault injected"


async def test_faults_set_at_start_with_an_unknown_target_fail_the_start() -> None:
    settings = FaultSettings(enabled=True, initial=(Fault("/nope.Service/Nothing"),))

    with pytest.raises(ConfigError, match=r"^OPS_FAULTS: fault\.target: unknown target"):
        ServiceHost(fee_service(FakeFeeServicer(), faults=settings))
