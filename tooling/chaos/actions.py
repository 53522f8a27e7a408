"""What chaos does to the mesh: kill -9, freeze (SIGSTOP, then SIGCONT), restart (SIGTERM; the
launcher starts it again), or a fault set through simplebank.ops.v1.FaultService; chosen by a
seeded random generator, so a seed repeats a run's choices. Under `make cluster`: kill -9 of a
random replica and of the NATS stream's leader, in turn."""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf.message import Message

from mesh.security.identity import server_name
from mesh.security.tls import MeshTls
from simplebank.ops.v1 import ops_pb2, ops_pb2_grpc
from tooling.chaos.leader import stream_leader
from tooling.harness.mesh import Mesh

SERVICES = ("gateway", "orders", "accounts", "fees", "market")
KINDS = ("kill", "freeze", "restart", "fault")
# Fewer exits than the launcher allows before it gives a child up (5 within 60 s).
MAX_EXITS_PER_PROCESS = 2
FAULT_TARGETS = {
    "accounts": [
        "/simplebank.accounts.v1.AccountService/ReserveHoldings",
        "simplebank.events.OrderExecuted",
        "simplebank.events.FeeCharged",
    ],
    "orders": ["/simplebank.orders.v1.OrderService/PlaceOrder", "simplebank.events.OrderPlaced"],
    "fees": ["simplebank.events.OrderPlaced"],
    "market": ["simplebank.events.OrderCreated"],
}


def operator_channel(address: str, certs_dir: Path, service: str) -> grpc.Channel:
    """A channel to an internal service as the operator (mTLS; plaintext if the mesh has none)."""
    files = MeshTls("operator", certs_dir)
    if not files.cert_file.exists():
        return grpc.insecure_channel(address)
    key, cert, ca = files.read()
    credentials = grpc.ssl_channel_credentials(ca, key, cert)
    return grpc.secure_channel(
        address, credentials, options=[("grpc.ssl_target_name_override", server_name(service))]
    )


@dataclass(frozen=True)
class Action:
    at: float  # seconds into the run
    kind: str
    target: str
    detail: str


# How long an action waits for a process the launcher is restarting.
RESTARTING_SECONDS = 15.0
# How long to wait for the NATS cluster to know its stream's leader (after an election).
LEADER_SECONDS = 20.0


class Chaos:
    """Picks and applies actions; undoes what lasts (a freeze, a fault) after `hold` seconds."""

    def __init__(self, mesh: Mesh, seed: int) -> None:
        self._mesh = mesh
        self._dice = random.Random(seed)
        self._exits: dict[str, int] = {}
        self.done: list[Action] = []

    def moments(self, count: int, duration: float) -> list[float]:
        """When to act, seconds into the run: after the load is going, before it stops."""
        return sorted(
            round(self._dice.uniform(1.0, max(duration - 2.0, 1.5)), 1) for _ in range(count)
        )

    def one(self, at: float) -> Action:
        kind = self._dice.choice(KINDS)
        if kind == "fault":
            action = self._fault(at)
        else:
            target = self._dice.choice([*SERVICES, "nats"])
            if kind != "freeze" and self._exits.get(target, 0) >= MAX_EXITS_PER_PROCESS:
                kind = "freeze"
            action = getattr(self, f"_{kind}")(at, target)
        self.done.append(action)
        return action

    def one_in_cluster(self, at: float) -> Action:
        """A kill -9: of a random service replica, or of the stream's leader, in turn."""
        if len(self.done) % 2:
            leader = stream_leader(self._mesh.nats_monitors(), LEADER_SECONDS)
            self._kill(at, leader)
            action = Action(at, "kill -9", leader, "the NATS stream's leader; restarted")
        else:
            replicas = [
                name
                for name in self._mesh.current().services
                if self._exits.get(name, 0) < MAX_EXITS_PER_PROCESS
            ]
            action = self._kill(at, self._dice.choice(sorted(replicas)))
        self.done.append(action)
        return action

    def _pid(self, target: str) -> int:
        return self._mesh.current().pids[target]

    def _signal(self, target: str, signum: signal.Signals) -> int:
        """Send `signum` to the target's current process; returns its pid. A process the
        launcher is restarting right now (its old pid gone, the ready file not yet rewritten)
        is waited for, so the action lands on the one that runs."""
        deadline = time.monotonic() + RESTARTING_SECONDS
        while True:
            pid = self._pid(target)
            try:
                os.kill(pid, signum)
                return pid
            except ProcessLookupError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _kill(self, at: float, target: str) -> Action:
        self._signal(target, signal.SIGKILL)
        self._exits[target] = self._exits.get(target, 0) + 1
        return Action(at, "kill -9", target, "the launcher restarts it")

    def _restart(self, at: float, target: str) -> Action:
        self._signal(target, signal.SIGTERM)
        self._exits[target] = self._exits.get(target, 0) + 1
        return Action(at, "restart", target, "SIGTERM; the launcher starts it again")

    def _freeze(self, at: float, target: str) -> Action:
        seconds = round(self._dice.uniform(0.5, 2.5), 1)
        pid = self._signal(target, signal.SIGSTOP)
        time.sleep(seconds)
        os.kill(pid, signal.SIGCONT)
        return Action(at, "freeze", target, f"SIGSTOP for {seconds}s, then SIGCONT")

    def _fault(self, at: float) -> Action:
        service = self._dice.choice(sorted(FAULT_TARGETS))
        target = self._dice.choice(FAULT_TARGETS[service])
        code = self._dice.choice(["UNAVAILABLE", "INTERNAL", ""])
        percent = self._dice.choice([30, 60, 100])
        delay = self._dice.choice([0, 200, 800]) if code else self._dice.choice([300, 1500])
        fault = ops_pb2.Fault(
            target=target,
            delay_ms=delay,
            error_code=code,
            percent=percent,
            seed=self._dice.randrange(1_000_000),
        )
        self._fault_service(service, "SetFault", ops_pb2.SetFaultRequest(fault=fault))
        what = f"{code or 'delay'} {percent}%" + (f" after {delay} ms" if delay else "")
        return Action(at, "fault", service, f"{what} on {target}")

    def clear_faults(self) -> None:
        """Take every fault away, retrying a service that is restarting right now."""
        for service in FAULT_TARGETS:
            deadline = time.monotonic() + 20
            while True:
                try:
                    self._fault_service(service, "ClearFaults", ops_pb2.ClearFaultsRequest())
                    break
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def _fault_service(self, service: str, method: str, request: Message) -> None:
        """On every replica of `service`."""
        ready = self._mesh.current()
        for replica in ready.replicas_of(service):
            with operator_channel(replica.address, ready.data_dir / "certs", service) as channel:
                stub = ops_pb2_grpc.FaultServiceStub(channel)
                # Waits for a service the launcher is restarting right now.
                getattr(stub, method)(request, timeout=10, wait_for_ready=True)
