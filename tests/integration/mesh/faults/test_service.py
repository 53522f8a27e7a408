"""Faults on a real ServiceHost through the real grpcurl: served only on an mTLS port to the
identity the policy names (the operator), never on a plaintext or public port; off by default,
checked, injected into calls with a span event, and cleared."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mesh.config import ConfigError
from mesh.errors.status import reason_of
from mesh.faults.settings import Fault, FaultSettings
from mesh.security.policy import DEFAULT_POLICY, Policy
from mesh.security.tls import ChannelTls, Listener, MeshTls
from mesh.server import Service, ServiceHost
from simplebank.fees.v1 import fees_pb2_grpc
from simplebank.ops.v1 import ops_pb2, ops_pb2_grpc
from tests.support.data.tracing import wait_for_spans
from tests.support.servers.certs import mesh_certs
from tests.support.servers.grpc_servers import (
    FEE_SERVICE,
    QUOTE_FEE,
    FakeFeeServicer,
    fee_service,
    local,
    quote_request,
    serving,
)
from tests.support.tools.grpcurl import Result, grpcurl, identity_flags, require_grpcurl

pytestmark = pytest.mark.integration

FAULTS = "simplebank.ops.v1.FaultService"
ON = FaultSettings(enabled=True)


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mesh_certs(tmp_path_factory.mktemp("faults"))


def on_mtls(service: Service, certs_dir: Path) -> Service:
    """`service` as an internal service serves: mTLS, under the mesh's authorization policy."""
    config = dataclasses.replace(
        service.config,
        tls=MeshTls("fees", certs_dir),
        listener=Listener.MTLS,
        policy=Policy.load(DEFAULT_POLICY),
    )
    return dataclasses.replace(service, config=config)


async def ops(
    host: ServiceHost, certs_dir: Path, method: str, request: object, identity: str = "operator"
) -> Result:
    return await grpcurl(
        "-d",
        json.dumps(request),
        local(host),
        f"{FAULTS}/{method}",
        transport=identity_flags(certs_dir, identity),
    )


@pytest.fixture
async def faulty(certs_dir: Path) -> AsyncIterator[tuple[ServiceHost, FakeFeeServicer]]:
    require_grpcurl()
    servicer = FakeFeeServicer()
    async with serving(on_mtls(fee_service(servicer, faults=ON), certs_dir)) as host:
        yield host, servicer


async def quote_code(host: ServiceHost, certs_dir: Path) -> tuple[grpc.StatusCode, str]:
    # The policy lets the operator quote fees (and nobody else in the mesh calls fees).
    tls = ChannelTls(MeshTls("operator", certs_dir), "fees")
    async with grpc.aio.secure_channel(
        local(host), tls.credentials(), options=tls.options()
    ) as channel:
        try:
            await fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request())
        except grpc.aio.AioRpcError as error:
            return error.code(), reason_of(error)
    return grpc.StatusCode.OK, ""


async def test_the_fault_service_is_listed_but_refuses_every_call_when_off(
    certs_dir: Path,
) -> None:
    require_grpcurl()
    async with serving(on_mtls(fee_service(FakeFeeServicer()), certs_dir)) as host:
        operator = identity_flags(certs_dir, "operator")
        listed = (await grpcurl(local(host), "list", transport=operator)).stdout.split()
        refused = await ops(host, certs_dir, "ListFaults", {})

    assert FAULTS in listed
    assert refused.returncode != 0
    assert "Code: PermissionDenied" in refused.stderr
    assert '"reason": "FAULTS_DISABLED"' in refused.stderr
    assert "OPS_FAULTS_ENABLED=true" in refused.stderr


async def test_a_plaintext_port_serves_no_fault_service_not_even_in_reflection() -> None:
    require_grpcurl()
    async with serving(fee_service(FakeFeeServicer())) as host:
        listed = (await grpcurl(local(host), "list")).stdout.split()
        async with grpc.aio.insecure_channel(local(host)) as channel:
            stub = ops_pb2_grpc.FaultServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.SetFault(
                    ops_pb2.SetFaultRequest(fault=ops_pb2.Fault(target=QUOTE_FEE, delay_ms=60_000))
                )

    assert FAULTS not in listed
    assert FEE_SERVICE in listed
    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("listener", [Listener.PLAINTEXT, Listener.TLS])
def test_fault_injection_on_a_port_without_client_certificates_fails_the_start(
    certs_dir: Path, listener: Listener
) -> None:
    """The gateway's public port (plaintext, or TLS without client certificates) never serves
    FaultService: asking for faults there is a configuration error, not an open door."""
    service = fee_service(FakeFeeServicer(), faults=ON)
    tls = None if listener is Listener.PLAINTEXT else MeshTls("fees", certs_dir)
    config = dataclasses.replace(service.config, tls=tls, listener=listener)

    with pytest.raises(ConfigError, match=r"^OPS_FAULTS_ENABLED=true needs an mTLS port"):
        ServiceHost(dataclasses.replace(service, config=config))


async def test_an_identity_the_policy_does_not_name_cannot_set_a_fault(
    faulty: tuple[ServiceHost, FakeFeeServicer], certs_dir: Path
) -> None:
    host, _ = faulty
    tls = ChannelTls(MeshTls("gateway", certs_dir), "fees")
    fault = ops_pb2.Fault(target=QUOTE_FEE, delay_ms=60_000, percent=100)

    async with grpc.aio.secure_channel(local(host), tls.credentials(), tls.options()) as channel:
        stub = ops_pb2_grpc.FaultServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SetFault(ops_pb2.SetFaultRequest(fault=fault), timeout=5)
    listed = json.loads((await ops(host, certs_dir, "ListFaults", {})).stdout)

    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "faults" not in listed


async def test_a_bad_fault_is_refused_with_a_field_violation_for_each_bad_field(
    faulty: tuple[ServiceHost, FakeFeeServicer], certs_dir: Path
) -> None:
    host, _ = faulty
    fault = {"target": "/nope.Service/Nothing", "error_code": "UNAVAILABLED", "percent": 101}

    refused = await ops(host, certs_dir, "SetFault", {"fault": fault})

    assert "Code: InvalidArgument" in refused.stderr, refused.stderr
    for field in ("fault.target", "fault.error_code", "fault.percent"):
        assert f'"field": "{field}"' in refused.stderr


async def test_a_set_fault_fails_the_calls_it_targets_until_it_is_cleared(
    faulty: tuple[ServiceHost, FakeFeeServicer], spans: InMemorySpanExporter, certs_dir: Path
) -> None:
    host, servicer = faulty
    fault = {"target": QUOTE_FEE, "error_code": "UNAVAILABLE", "percent": 100}

    set_ = await ops(host, certs_dir, "SetFault", {"fault": fault})
    listed = json.loads((await ops(host, certs_dir, "ListFaults", {})).stdout)
    failed = await quote_code(host, certs_dir)
    cleared = json.loads((await ops(host, certs_dir, "ClearFaults", {})).stdout)
    after = await quote_code(host, certs_dir)

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


async def test_faults_set_at_start_with_an_unknown_target_fail_the_start(certs_dir: Path) -> None:
    settings = FaultSettings(enabled=True, initial=(Fault("/nope.Service/Nothing"),))

    with pytest.raises(ConfigError, match=r"^OPS_FAULTS: fault\.target: unknown target"):
        ServiceHost(on_mtls(fee_service(FakeFeeServicer(), faults=settings), certs_dir))
