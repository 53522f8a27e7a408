"""A PostgreSQL restart under load is ridden out: while it is away calls fail UNAVAILABLE and the
services report NOT_SERVING; once it is back they serve again, and the invariants hold (checked
after the test, as after every flow test)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from simplebank.gateway.v1 import gateway_pb2
from tests.support.data.customer import Customer
from tests.support.servers.mesh import Mesh, MeshOptions, run_mesh
from tests.support.servers.postgres import STATEFUL, fresh_databases, run_postgres
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration

CALLS_BEFORE_AND_AFTER = 5
MAX_CALLS = 80  # alice holds 100 AAPL and each call sells one
PAUSE_SECONDS = 0.1
WAIT_SECONDS = 20.0


@pytest.fixture
def server() -> Iterator[LocalPostgres]:
    """A PostgreSQL of this test's own, since the test stops it."""
    with run_postgres() as running:
        yield running


@pytest.fixture
def mesh(tmp_path: Path, server: LocalPostgres) -> Iterator[Mesh]:
    options = MeshOptions(database_urls=fresh_databases(server, STATEFUL))
    with run_mesh(tmp_path, options) as running:
        yield running


class Load:
    """Places one-share sell orders until stopped, noting each call's status code."""

    def __init__(self, customer: Customer) -> None:
        self._customer = customer
        self.codes: list[grpc.StatusCode] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.codes) < MAX_CALLS:
            request = gateway_pb2.PlaceSellOrderRequest(
                account_id="acc-alice", symbol="AAPL", quantity=1, request_id=str(uuid.uuid4())
            )
            try:
                self._customer.stub.PlaceSellOrder(
                    request, metadata=self._customer.metadata, timeout=5.0
                )
                self.codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                self.codes.append(error.code())
            time.sleep(PAUSE_SECONDS)

    def ok_count(self) -> int:
        return self.codes.count(grpc.StatusCode.OK)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {WAIT_SECONDS}s: {what}"
        time.sleep(0.05)


def test_a_postgresql_restart_under_load_fails_calls_unavailable_then_recovers(
    mesh: Mesh, alice: Customer, server: LocalPostgres
) -> None:
    with Load(alice) as load:
        wait_until(lambda: load.ok_count() >= CALLS_BEFORE_AND_AFTER, "calls succeeding")
        server.stop()
        wait_until(lambda: not mesh.serving("orders"), "orders NOT_SERVING")
        wait_until(lambda: not mesh.serving("accounts"), "accounts NOT_SERVING")
        # Not ready, yet alive: a liveness probe would not restart them for the database.
        assert mesh.alive("orders"), "orders failed its liveness probe while PostgreSQL was away"
        assert mesh.alive("accounts"), "accounts failed its liveness probe"
        ok_while_down = load.ok_count()
        failed_at = len(load.codes)
        wait_until(lambda: len(load.codes) > failed_at + 2, "calls while the database is away")
        server.start()
        wait_until(lambda: all(mesh.serving(name) for name in STATEFUL), "every service SERVING")
        wait_until(
            lambda: load.ok_count() >= ok_while_down + CALLS_BEFORE_AND_AFTER,
            "calls succeeding again",
        )

    failures = [code for code in load.codes if code != grpc.StatusCode.OK]
    print(f"{len(load.codes)} calls, failed: {[code.name for code in failures]}")
    assert failures, "no call failed while PostgreSQL was away"
    # A call in flight as the server goes may run out its deadline finding that out; once a
    # service knows, its calls fail UNAVAILABLE at once (and clients may retry those).
    assert set(failures) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
    assert failures.count(grpc.StatusCode.UNAVAILABLE) > len(failures) / 2
    assert all(mesh.running(name) for name in STATEFUL), mesh.logs()
