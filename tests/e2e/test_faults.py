"""Faults through grpcurl under make run: accounts' ReserveHoldings failing makes PlaceSellOrder
fail, then fail fast with CIRCUIT_OPEN without reaching accounts; ClearFaults brings it back.
Nobody without the operator's certificate sets a fault: not on the gateway's public port."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator

import grpc
import pytest

from mesh.errors.status import reason_of
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from simplebank.ops.v1 import ops_pb2, ops_pb2_grpc
from tests.e2e.launcher import LaunchedMesh, launched_mesh

pytestmark = pytest.mark.e2e

RESERVE = "/simplebank.accounts.v1.AccountService/ReserveHoldings"
FAULTS = "simplebank.ops.v1.FaultService"
RECOVER_SECONDS = 15.0
MAX_CALLS_TO_OPEN = 10


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """A mesh of its own: this module breaks accounts on purpose."""
    with launched_mesh(tmp_path_factory.mktemp("faults")) as running:
        yield running


def fault_call(mesh: LaunchedMesh, service: str, method: str, request: object) -> str:
    ran = mesh.grpcurl(service, f"{FAULTS}/{method}", flags=("-d", json.dumps(request)))
    assert ran.returncode == 0, ran.output
    return ran.output


def place(mesh: LaunchedMesh) -> tuple[str, float]:
    """One PlaceSellOrder: its status name (with the reason of a failure) and its seconds."""
    request = gateway_pb2.PlaceSellOrderRequest(
        account_id="acc-alice", symbol="AAPL", quantity=1, request_id=f"e2e-{uuid.uuid4()}"
    )
    started = time.monotonic()
    with grpc.insecure_channel(mesh.gateway) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        try:
            stub.PlaceSellOrder(request, metadata=(("authorization", "Bearer alice-token"),))
            outcome = "OK"
        except grpc.RpcError as error:
            outcome = f"{error.code().name} {reason_of(error)}"
    return outcome, time.monotonic() - started


def injected(mesh: LaunchedMesh) -> float:
    """accounts' simplebank.faults.injected counter for ReserveHoldings, from its metrics port."""
    address = mesh.ports["ACCOUNTS_METRICS_ADDR"]
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("simplebank_faults_injected_total{") and "ReserveHoldings" in line
    )


def test_a_failing_reserve_holdings_opens_the_circuit_and_clearing_it_closes_it(
    mesh: LaunchedMesh, capsys: pytest.CaptureFixture[str]
) -> None:
    fault = {"target": RESERVE, "error_code": "UNAVAILABLE", "percent": 100}
    fault_call(mesh, "accounts", "SetFault", {"fault": fault})

    seen = [place(mesh)]
    while not seen[-1][0].endswith("CIRCUIT_OPEN") and len(seen) < MAX_CALLS_TO_OPEN:
        seen.append(place(mesh))
    reached_accounts = injected(mesh)
    fast = [place(mesh) for _ in range(3)]
    reached_after = injected(mesh)

    fault_call(mesh, "accounts", "ClearFaults", {})
    cleared_at = time.monotonic()
    while place(mesh)[0] != "OK":
        assert time.monotonic() - cleared_at < RECOVER_SECONDS, "still failing after ClearFaults"
        time.sleep(0.2)
    recovered = time.monotonic() - cleared_at

    with capsys.disabled():
        print(
            f"\nfailed calls before the circuit opened: {len(seen) - 1}, each"
            f" {max(s for _, s in seen[:-1]) * 1000:.0f} ms at most; CIRCUIT_OPEN answers"
            f" {max(s for _, s in fast) * 1000:.1f} ms at most (deadline 2000 ms);"
            f" succeeding again {recovered:.1f}s after ClearFaults"
        )
    assert seen[0][0] == "UNAVAILABLE UPSTREAM_UNAVAILABLE"
    assert seen[-1][0] == "UNAVAILABLE CIRCUIT_OPEN", seen
    assert [outcome for outcome, _ in fast] == ["UNAVAILABLE CIRCUIT_OPEN"] * 3
    assert reached_after == reached_accounts  # refused at orders: accounts saw none of them


def test_a_bad_fault_is_refused_with_field_violations(mesh: LaunchedMesh) -> None:
    fault = {"target": "/nope.Service/Nothing", "error_code": "UNAVAILABLED", "percent": 101}

    ran = mesh.grpcurl("orders", f"{FAULTS}/SetFault", flags=("-d", json.dumps({"fault": fault})))

    assert "Code: InvalidArgument" in ran.output, ran.output
    for field in ("fault.target", "fault.error_code", "fault.percent"):
        assert f'"field": "{field}"' in ran.output


def test_an_anonymous_set_fault_on_the_gateway_port_is_refused(mesh: LaunchedMesh) -> None:
    """The attack of issue 23: a 60 s delay on GetPortfolio from anyone who can reach the port."""
    target = "/simplebank.gateway.v1.GatewayService/GetPortfolio"
    fault = ops_pb2.Fault(target=target, delay_ms=60_000, percent=100)

    with grpc.insecure_channel(mesh.gateway) as channel:
        stub = ops_pb2_grpc.FaultServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.SetFault(ops_pb2.SetFaultRequest(fault=fault), timeout=10)

    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert place(mesh)[1] < 2.0  # and calls are as fast as ever
