"""The edge under one customer's load and an anonymous flood, on the real gateway process: bob's
slow flood of ListOrders is refused at the edge while alice's calls go through, and a flood of
health Watch streams from a caller nobody authenticated is refused beyond the cap with the
gateway's memory bounded."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.errors.status import reason_of
from mesh.health.service import MAX_WATCHES
from simplebank.gateway.v1 import gateway_pb2
from tests.support.data.customer import Customer
from tests.support.servers.mesh import Mesh, MeshOptions, run_mesh

pytestmark = pytest.mark.integration

LIST_ORDERS = "/simplebank.orders.v1.OrderService/ListOrders"
SLOW_MS = 400  # every ListOrders at orders takes this long: a slow customer's query
BOB_IN_FLIGHT = 64  # twice the gateway's shared cap of calls in progress
FLOOD_SECONDS = 4.0
WATCH_FLOOD = 3 * MAX_WATCHES
RSS_GROWTH_BOUND_KIB = 40 * 1024


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """A mesh of this module's own, SQLite, its orders slow at ListOrders."""
    faults = json.dumps([{"target": LIST_ORDERS, "delay_ms": SLOW_MS}])
    options = MeshOptions(
        service_env={"orders": {"OPS_FAULTS_ENABLED": "true", "OPS_FAULTS": faults}}
    )
    with run_mesh(tmp_path_factory.mktemp("edge"), options) as running:
        yield running


def list_orders(customer: Customer) -> grpc.Future:  # type: ignore[type-arg]
    request = gateway_pb2.ListOrdersRequest(account_id=customer.account_id)
    future: grpc.Future = customer.stub.ListOrders.future(  # type: ignore[type-arg]
        request, metadata=customer.metadata, timeout=5.0
    )
    return future


def outcome(future: grpc.Future) -> str:  # type: ignore[type-arg]
    """OK, or the status and ErrorInfo reason the call ended with."""
    error = future.exception()
    if error is None:
        return "OK"
    assert isinstance(error, grpc.RpcError)
    return f"{error.code().name} {reason_of(error)}"


def flood(bob: Customer, stop: threading.Event, outcomes: Counter[str]) -> None:
    """Keep BOB_IN_FLIGHT ListOrders of bob's in progress until told to stop."""
    pending: list[grpc.Future] = []  # type: ignore[type-arg]
    while not stop.is_set():
        while len(pending) < BOB_IN_FLIGHT:
            pending.append(list_orders(bob))
        done = [f for f in pending if f.done()]
        for future in done:
            pending.remove(future)
            outcomes[outcome(future)] += 1
        time.sleep(0.005)
    for future in pending:
        future.cancel()


def test_bobs_slow_flood_does_not_stop_alices_list_orders(alice: Customer, bob: Customer) -> None:
    stop = threading.Event()
    bobs: Counter[str] = Counter()
    flooding = threading.Thread(target=flood, args=(bob, stop, bobs), daemon=True)
    flooding.start()
    time.sleep(0.5)  # bob's calls fill what they can
    alices: list[str] = []
    try:
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            alices.append(outcome(list_orders(alice)))
    finally:
        stop.set()
        flooding.join(10)

    assert alices
    assert set(alices) == {"OK"}, Counter(alices)
    # bob was held to his share at the edge, told when to come back, and never opened the
    # circuit to orders that alice's calls go through too.
    assert bobs["RESOURCE_EXHAUSTED CUSTOMER_OVERLOADED"] > 0, bobs
    assert not any("CIRCUIT_OPEN" in outcome for outcome in bobs), bobs


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def watch_flood(address: str) -> tuple[Counter[str], list[grpc.aio.Call]]:
    """Open WATCH_FLOOD Watch streams, no credentials, over several connections; the outcome
    of each first read, and the streams still open."""
    own_connection = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(address, options=own_connection) for _ in range(6)]
    calls = [
        health_pb2_grpc.HealthStub(channels[n % len(channels)]).Watch(
            health_pb2.HealthCheckRequest(), timeout=30
        )
        for n in range(WATCH_FLOOD)
    ]

    async def first(call: grpc.aio.UnaryStreamCall) -> str:  # type: ignore[type-arg]
        try:
            await call.read()
        except grpc.aio.AioRpcError as error:
            return f"{error.code().name} {reason_of(error)}"
        return "OPEN"

    outcomes = Counter(await asyncio.gather(*(first(c) for c in calls)))
    return outcomes, calls


def test_a_watch_flood_from_an_unauthenticated_peer_is_refused_with_memory_bounded(
    mesh: Mesh,
) -> None:
    pid = mesh.process("gateway").pid
    before = rss_kib(pid)

    async def flood_and_measure() -> tuple[Counter[str], int]:
        outcomes, calls = await watch_flood(mesh.addrs["gateway"])
        during = rss_kib(pid)
        for call in calls:
            call.cancel()
        return outcomes, during

    outcomes, during = asyncio.run(flood_and_measure())

    assert outcomes["OPEN"] <= MAX_WATCHES
    assert outcomes["RESOURCE_EXHAUSTED TOO_MANY_WATCHES"] >= WATCH_FLOOD - MAX_WATCHES, outcomes
    assert during - before < RSS_GROWTH_BOUND_KIB, (before, during)
