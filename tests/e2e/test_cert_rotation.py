"""mTLS under `make run`: a service's new certificate files are used by new connections at once,
with no restart and no failed call; the heartbeats get through as the probe identity."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import grpc
import pytest

from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from tests.e2e.launcher import LaunchedMesh
from tests.support.servers.certs import channel_as
from tooling.cli import certs

pytestmark = pytest.mark.e2e

SERVICE = "accounts"
CALLS_AFTER_ROTATION = 20
WAIT_SECONDS = 30.0


def presented_certificate(address: str, certs_dir: Path) -> bytes:
    """The certificate the service shows a new connection (DER), met as the operator."""
    context = ssl.create_default_context(cafile=certs_dir / "ca.crt")
    context.load_cert_chain(certs_dir / "operator.crt", certs_dir / "operator.key")
    context.set_alpn_protocols(["h2"])
    host, _, port = address.rpartition(":")
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=f"{SERVICE}.simplebank.local") as tls,
    ):
        presented = tls.getpeercert(binary_form=True)
    assert presented is not None
    return presented


def file_certificate(certs_dir: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert((certs_dir / f"{SERVICE}.crt").read_text())


class Caller(threading.Thread):
    """Calls accounts over and over until stopped: through the gateway (its long-lived channel)
    and on a new connection of its own each time, as the operator; keeps every failure."""

    def __init__(self, mesh: LaunchedMesh, certs_dir: Path) -> None:
        super().__init__(daemon=True)
        self.mesh, self.certs_dir = mesh, certs_dir
        self.calls = 0
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        request = accounts_pb2.GetPortfolioRequest(account_id="acc-alice")
        address = self.mesh.address(SERVICE)
        with self.mesh.customer("alice-token", "acc-alice") as alice:
            while not self.stopping.is_set():
                try:
                    alice.portfolio()
                    with channel_as("operator", self.certs_dir, address, SERVICE) as channel:
                        stub = accounts_pb2_grpc.AccountServiceStub(channel)
                        stub.GetPortfolio(request, timeout=5)
                except grpc.RpcError as error:
                    self.failures.append(repr(error))
                self.calls += 1


def test_new_connections_use_a_replaced_certificate_and_no_call_fails(mesh: LaunchedMesh) -> None:
    certs_dir = mesh.data_dir / "certs"
    address = mesh.address(SERVICE)
    assert presented_certificate(address, certs_dir) == file_certificate(certs_dir)
    caller = Caller(mesh, certs_dir)
    caller.start()
    try:
        leaf = next(leaf for leaf in certs.LEAVES if leaf.name == SERVICE)
        certs.issue(certs_dir, leaf)
        replaced = file_certificate(certs_dir)
        deadline = time.monotonic() + WAIT_SECONDS
        while presented_certificate(address, certs_dir) != replaced:
            assert time.monotonic() < deadline, "accounts still shows its old certificate"
            time.sleep(0.1)
        rotated_at = caller.calls
        while caller.calls < rotated_at + CALLS_AFTER_ROTATION:
            assert time.monotonic() < deadline, f"only {caller.calls - rotated_at} calls after"
            time.sleep(0.1)
    finally:
        caller.stopping.set()
        caller.join(10)

    assert caller.failures == []
    assert SERVICE in mesh.running()  # the same process, never restarted


def test_every_heartbeat_succeeds_the_internal_ones_as_the_probe(mesh: LaunchedMesh) -> None:
    """The blackbox exporter reaches the gateway in plaintext and the others over mTLS."""
    prometheus = mesh.ready.watchers["prometheus"].address
    query = urllib.parse.urlencode({"query": 'probe_success{job="heartbeat"} == 1'})
    deadline = time.monotonic() + WAIT_SECONDS
    succeeding: set[str] = set()
    while succeeding != set(mesh.services):
        assert time.monotonic() < deadline, f"only {sorted(succeeding)} pass their heartbeat"
        time.sleep(1.0)
        with urllib.request.urlopen(f"{prometheus}/api/v1/query?{query}", timeout=5) as answer:
            results = json.load(answer)["data"]["result"]
        succeeding = {result["metric"]["service"] for result in results}
