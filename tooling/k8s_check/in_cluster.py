"""What the local overlay must do once it runs on a real node, each proof a function.

Everything reaches the cluster from inside its network namespace (the gateway's Service, Jaeger's
query port, `kubectl exec`), so nothing is sent outside it and loopback:
- an order placed through the gateway ends FILLED, and its trace holds all five services;
- a NetworkPolicy refuses a call the call graph does not have (fees -> accounts) while an allowed
  one (gateway -> accounts) connects;
- a deleted service pod is replaced and orders keep filling;
- NATS gone: no pod restarts, orders wait in the outboxes and fill once it is back; the database
  held (its SQLite write lock taken from the node): the pod goes not-ready, is not restarted,
  and is Ready again once the lock goes;
- the certificate files are mounted with the modes the mesh needs, owned by the pod's fsGroup,
  and read by a non-root process.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.real_node import Node
from tooling.k8s_check.tools import REPO_ROOT, tool

T = TypeVar("T")
NAMESPACE = "simplebank"
SERVICES = ("gateway", "orders", "accounts", "fees", "market")
TOKEN = "alice-token"  # the demo tokens of overlays/local
ACCOUNT = "acc-alice"
FILL_SECONDS = 60
# gRPC resolves a name again at most every 30 s (its DNS resolver's default), and a headless
# Service's name has no address until its pod is Ready, and a new one when the pod is replaced:
# a caller that resolved too early fails until it resolves again.
REPLACED_SECONDS = 60
# Longer than a failing liveness probe takes to restart a container (3 failures, 10 s apart).
LIVENESS_SECONDS = 35
PROTOS = REPO_ROOT / "protos"


def eventually(what: str, seconds: float, attempt: Callable[[], T | None]) -> T:
    """attempt() until it returns something; a failure naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: not within {seconds:.0f} s")
        time.sleep(1)


def pod(node: Node, service: str) -> dict[str, Any]:
    pods = node.kubectl.get("pods", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={service}")
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    if len(live) != 1:
        raise CheckFailed(f"{len(live)} live pods of {service}, not 1")
    return live[0]


def ready(pod_: dict[str, Any]) -> bool:
    conditions = pod_["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def restarts(node: Node) -> dict[str, int]:
    pods = node.kubectl.get("pods", "-n", NAMESPACE)
    return {
        p["metadata"]["name"]: sum(
            c["restartCount"] for c in p["status"].get("containerStatuses", [])
        )
        for p in pods
    }


def _gateway(node: Node) -> str:
    service = node.kubectl.get(
        "services", "-n", NAMESPACE, "--field-selector=metadata.name=gateway-public"
    )
    return f"{service[0]['spec']['clusterIP']}:50051"


def call_gateway(node: Node, method: str, request: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """grpcurl from the node's namespace to the gateway's Service: the reply and its trace id."""
    completed = node.run(
        str(tool("grpcurl")), "-v", "-plaintext", "-max-time", "10",
        "-import-path", str(PROTOS), "-proto", "simplebank/gateway/v1/gateway.proto",
        "-H", f"authorization: Bearer {TOKEN}", "-d", json.dumps(request),
        _gateway(node), f"simplebank.gateway.v1.GatewayService/{method}",
    )  # fmt: skip
    if completed.returncode != 0:
        raise CheckFailed(
            f"{method} through the gateway failed:\n{completed.stdout}{completed.stderr}"
        )
    trace = re.search(r"^x-trace-id: (\w+)$", completed.stdout, re.MULTILINE)
    body = completed.stdout[completed.stdout.index("Response contents:") :]
    reply: dict[str, Any] = json.loads(body[body.index("{") : body.rindex("}") + 1])
    return reply, trace.group(1) if trace else ""


def place_order(node: Node, label: str, within: float = 0) -> tuple[str, str]:
    """A sell of one share, sent again (the same request_id: idempotent) while the gateway
    fails, for `within` seconds at most; its order id and trace id."""
    request = {
        "account_id": ACCOUNT,
        "symbol": "AAPL",
        "quantity": 1,
        "request_id": f"k8s-check-{label}-{uuid.uuid4().hex[:8]}",
    }
    deadline = time.monotonic() + within
    while True:
        try:
            reply, trace = call_gateway(node, "PlaceSellOrder", request)
            return reply["order"]["orderId"], trace
        except CheckFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def filled(node: Node, order_id: str, seconds: float = FILL_SECONDS) -> None:
    def status() -> str | None:
        reply, _ = call_gateway(node, "GetOrder", {"order_id": order_id})
        found = str(reply["order"]["status"])
        if found in ("ORDER_STATUS_REJECTED", "ORDER_STATUS_CANCELLED"):
            raise CheckFailed(f"order {order_id} ended {found}")
        return found if found == "ORDER_STATUS_FILLED" else None

    eventually(f"order {order_id} FILLED", seconds, status)


def order_fills_with_its_trace(node: Node) -> str:
    """Place an order through the gateway; FILLED, and its trace in Jaeger spans all services."""
    order_id, trace = place_order(node, "trace", within=REPLACED_SECONDS)
    if not trace:
        raise CheckFailed("the gateway's reply carries no x-trace-id")
    filled(node, order_id)
    [jaeger] = node.kubectl.get(
        "services", "-n", NAMESPACE, "--field-selector=metadata.name=jaeger"
    )
    url = f"http://{jaeger['spec']['clusterIP']}:16686/api/traces/{trace}"
    seen: set[str] = set()

    def services() -> set[str] | None:
        completed = node.run("curl", "-sf", "--max-time", "5", url)
        if completed.returncode == 0:
            for found in json.loads(completed.stdout).get("data", []):
                seen.update(p["serviceName"] for p in found["processes"].values())
        return seen if seen >= set(SERVICES) else None

    with contextlib.suppress(CheckFailed):
        eventually("trace", 30, services)
    if not seen >= set(SERVICES):
        raise CheckFailed(f"trace {trace} in Jaeger holds {sorted(seen)}, not all of {SERVICES}")
    return trace


CONNECT = (
    "import socket,sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()\n"
    "    print('connected')\n"
    "except OSError as error:\n"
    "    print(type(error).__name__, error)\n"
)


def connect_from(node: Node, service: str, host: str, port: int) -> str:
    """What a TCP connection from the service's pod to host:port gets."""
    name = pod(node, service)["metadata"]["name"]
    result = node.kubectl.run(
        "exec", "-n", NAMESPACE, name, "--", "python", "-c", CONNECT, host, str(port), timeout=30
    )
    return result.stdout.strip()


def policies_bite(node: Node) -> tuple[str, str]:
    """fees -> accounts is not in the call graph: refused; gateway -> accounts is: connects."""
    address = pod(node, "accounts")["status"]["podIP"]
    allowed = connect_from(node, "gateway", address, 50053)
    if allowed != "connected":
        raise CheckFailed(f"gateway -> accounts:50053 (allowed) got: {allowed}")
    refused = connect_from(node, "fees", address, 50053)
    if refused == "connected":
        raise CheckFailed("fees -> accounts:50053 connected: the NetworkPolicies did not refuse it")
    return allowed, refused


def replaced_pod_keeps_filling(node: Node, service: str = "orders") -> float:
    """Delete the service's pod; once its replacement is Ready, an order is taken (within
    REPLACED_SECONDS: the gateway finds the new address when it resolves the headless name
    again) and fills. How long after the replacement was Ready the order was taken."""
    old = pod(node, service)["metadata"]["uid"]
    node.kubectl.run("delete", "pod", "-n", NAMESPACE, "-l", f"app.kubernetes.io/name={service}")

    def replacement() -> bool | None:
        with contextlib.suppress(CheckFailed):
            new = pod(node, service)
            return True if new["metadata"]["uid"] != old and ready(new) else None
        return None

    eventually(f"a Ready replacement of the deleted {service} pod", 120, replacement)
    replaced = time.monotonic()
    order_id, _ = place_order(node, "replaced", within=REPLACED_SECONDS)
    taken = time.monotonic() - replaced
    filled(node, order_id)
    return taken


def nats_outage_restarts_nothing(node: Node) -> None:
    """NATS scaled to zero: orders are taken (outbox), no pod restarts; back: they fill."""
    before = restarts(node)
    node.kubectl.run("scale", "statefulset/nats", "-n", NAMESPACE, "--replicas=0")
    node.kubectl.run("wait", "--for=delete", "pod/nats-0", "-n", NAMESPACE, "--timeout=60s")
    try:
        order_id, _ = place_order(node, "no-nats")
        time.sleep(LIVENESS_SECONDS)
        during = restarts(node)
    finally:
        node.kubectl.run("scale", "statefulset/nats", "-n", NAMESPACE, "--replicas=1")
    node.kubectl.run(
        "rollout", "status", "statefulset/nats", "-n", NAMESPACE, "--timeout=120s", timeout=150
    )
    filled(node, order_id, 120)
    changed = {name: n for name, n in during.items() if before.get(name, n) != n}
    if changed:
        raise CheckFailed(f"pods restarted while NATS was down: {changed}")


def _database(node: Node, service: str) -> Path:
    claim = node.kubectl.get(
        "persistentvolumeclaims", "-n", NAMESPACE, f"--field-selector=metadata.name={service}-data"
    )[0]
    [volume] = node.kubectl.get(
        "persistentvolumes", f"--field-selector=metadata.name={claim['spec']['volumeName']}"
    )
    return Path(volume["spec"]["hostPath"]["path"]) / f"{service}.sqlite3"


@contextlib.contextmanager
def database_held(path: Path) -> Iterator[None]:
    """The SQLite file's write lock taken from the node: the service's BEGIN IMMEDIATE waits."""
    if not path.exists():
        raise CheckFailed(f"no database at {path}")
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def database_outage_unreadies(node: Node, service: str = "accounts") -> None:
    """With its database unavailable the pod is taken out of service, not restarted."""
    before = pod(node, service)
    count = sum(c["restartCount"] for c in before["status"]["containerStatuses"])
    with database_held(_database(node, service)):
        eventually(f"{service} not Ready with its database held", 60,
                   lambda: True if not ready(pod(node, service)) else None)  # fmt: skip
        time.sleep(LIVENESS_SECONDS)
        during = pod(node, service)
        if ready(during):
            raise CheckFailed(f"{service} turned Ready again with its database still held")
    after = sum(c["restartCount"] for c in during["status"]["containerStatuses"])
    if during["metadata"]["uid"] != before["metadata"]["uid"] or after != count:
        raise CheckFailed(f"{service} was restarted while its database was held")
    eventually(f"{service} Ready again", 60, lambda: True if ready(pod(node, service)) else None)


MODES = (
    "import os,sys\n"
    "for name in sys.argv[1:]:\n"
    "    s = os.stat(name)\n"
    "    print(name, oct(s.st_mode & 0o777), s.st_uid, s.st_gid, open(name, 'rb').read(1) != b'')\n"
    "print('process', os.getuid(), os.getgid(), sorted(os.getgroups()))\n"
)


def secret_modes(node: Node, service: str = "orders") -> str:
    """The mounted key is 0440, group-owned by the pod's fsGroup, readable by a non-root uid."""
    pod_ = pod(node, service)
    group = pod_["spec"]["securityContext"]["fsGroup"]
    files = [f"/certs/{name}" for name in ("ca.crt", f"{service}.crt", f"{service}.key")]
    output = node.kubectl.run(
        "exec", "-n", NAMESPACE, pod_["metadata"]["name"], "--", "python", "-c", MODES, *files
    ).stdout
    rows = [line.split() for line in output.splitlines()]
    process = rows[-1]
    if process[1] == "0":
        raise CheckFailed(f"{service} runs as root")
    for name, mode, _uid, gid, readable in rows[:-1]:
        if mode != "0o440" or int(gid) != group or readable != "True":
            raise CheckFailed(
                f"{service}'s {name}: mode {mode}, group {gid}, readable {readable}; the mesh "
                f"needs 0o440, group {group} (fsGroup), readable by uid {process[1]}"
            )
    return output.strip()
