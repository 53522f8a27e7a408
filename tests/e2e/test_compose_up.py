"""compose.yaml for real: `docker compose up --wait`, an order through the published gateway,
its trace in the Jaeger container, Prometheus scraping and probing every service, a crashed
service restarted with nothing lost, `down -v`.

The engine is one that answers or one tooling/sh/docker-engine.sh starts (and this stops); the
images come from tooling/sh/docker-images.sh (built once; stand-ins where no registry serves
images). Only ports published on 127.0.0.1 carry the test's traffic. If the engine cannot start,
the tests fail with the reason; SIMPLEBANK_SKIP_DOCKER=1 skips them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from mesh.topology import BY_NAME, NAMES
from tests.e2e.commands import grpcurl
from tests.e2e.compose_project import ComposeProject
from tests.e2e.traces import wait_for_trace
from tests.support.polling import grpcurl_retry_delay, poll
from tests.support.tools.compose import compose_services, memory_limit
from tests.support.tools.docker_engine import (
    compose_images,
    docker_engine,
    skip_unless_docker_wanted,
)

# Setting up takes minutes the first time (engine installed, base image made).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

GATEWAY = "simplebank.gateway.v1.GatewayService"
FILLED = "ORDER_STATUS_FILLED"
SETTLE_SECONDS = 30.0
RESTART_SECONDS = 90.0
TRACE_SECONDS = 30.0
POLL_SECONDS = 0.5
SERVICE_USER = "10001:10001"  # the Dockerfile's USER
TRACE_ID = re.compile(r"^x-trace-id: ([0-9a-f]{32})$", re.MULTILINE)
MEMORY_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}
SCRAPE_SECONDS = 60.0
# A connection to a container that crashed can take a call or two to be replaced; a rate-limited
# call is tried again after the delay the gateway gives.
TRANSIENT = re.compile(r"Code: (Unavailable|DeadlineExceeded|ResourceExhausted)")
TRANSIENT_SECONDS = 5.0
# Every service scraped and probed, and NATS, Jaeger and the watchers themselves.
EVERY_JOB_UP = {
    *(("services", name) for name in NAMES),
    *(("heartbeat", name) for name in NAMES),
    ("nats", "nats"),
    ("jaeger", "jaeger"),
    ("prometheus", "prometheus"),
    ("alertmanager", "alertmanager"),
    ("blackbox", "blackbox"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    """The whole of compose.yaml, up and healthy; removed with its volumes at the end."""
    skip_unless_docker_wanted()
    with docker_engine() as engine:
        images = compose_images(engine)
        running = ComposeProject(tmp_path_factory.mktemp("compose"), {**engine, **images})
        try:
            started = time.monotonic()
            running.up()
            print(f"[compose] up --wait: {time.monotonic() - started:.0f} s")
            yield running
        finally:
            running.down()


def gateway_call(project: ComposeProject, method: str, body: dict[str, Any], *flags: str) -> str:
    """One call, tried again like a client would when the mesh says it is passing (every call
    here is safe to repeat: PlaceSellOrder is idempotent per request_id)."""
    gateway = project.published("gateway", BY_NAME["gateway"].port)
    auth = ["-H", "authorization: Bearer alice-token"]
    called = poll(
        lambda: grpcurl(*flags, *auth, "-d", json.dumps(body), gateway, f"{GATEWAY}/{method}"),
        lambda called: called.returncode == 0 or not TRANSIENT.search(called.output),
        TRANSIENT_SECONDS,
        f"{method} answered",
        1.0,
        backoff=lambda called: grpcurl_retry_delay(called.output),
        or_last=True,
    )
    assert called.returncode == 0, f"{method}: {called.output}"
    return called.output


def sell(project: ComposeProject, request_id: str) -> tuple[str, str]:
    """Alice sells 1 AAPL with `grpcurl -v`: the order id and the trace id of its header."""
    body = {"account_id": "acc-alice", "symbol": "AAPL", "quantity": 1, "request_id": request_id}
    shown = gateway_call(project, "PlaceSellOrder", body, "-v")
    trace = TRACE_ID.search(shown)
    assert trace is not None, f"no x-trace-id trailer:\n{shown}"
    start = shown.index("{", shown.index("Response contents:"))
    answer, _ = json.JSONDecoder().raw_decode(shown, start)
    return str(answer["order"]["orderId"]), trace.group(1)


def order_status(project: ComposeProject, order_id: str) -> str:
    answer = json.loads(gateway_call(project, "GetOrder", {"order_id": order_id}))
    return str(answer["order"]["status"])


def settled_status(project: ComposeProject, order_id: str) -> str:
    """The order's status once FILLED, or whatever it is after SETTLE_SECONDS."""
    return poll(
        lambda: order_status(project, order_id),
        lambda status: status == FILLED,
        SETTLE_SECONDS,
        f"order {order_id} FILLED",
        POLL_SECONDS,
        or_last=True,
    )


def health(container: dict[str, Any]) -> str:
    state = container["State"]
    return str(state["Health"]["Status"]) if state.get("Health") else state["Status"]


def bytes_of(limit: str) -> int:
    """A compose memory size (`256m`) in bytes."""
    size = re.fullmatch(r"(\d+)([kmg]?)b?", limit.lower())
    assert size is not None, f"not a memory size: {limit}"
    return int(size.group(1)) * MEMORY_UNITS.get(size.group(2), 1)


def test_every_container_of_compose_yaml_is_up_and_healthy(project: ComposeProject) -> None:
    containers = project.containers()
    assert set(containers) == set(compose_services())
    one_shot = {
        name
        for spec in compose_services().values()
        for name, rule in spec.get("depends_on", {}).items()
        if rule["condition"] == "service_completed_successfully"
    }
    unhealthy = {
        name: health(c)
        for name, c in containers.items()
        if name not in one_shot and health(c) != "healthy"
    }
    assert not unhealthy
    # A one-shot container (the certificates) has done its work and exited cleanly.
    assert {name: containers[name]["State"]["ExitCode"] for name in one_shot} == dict.fromkeys(
        one_shot, 0
    )


def test_the_engine_applies_each_memory_limit_compose_sets(project: ComposeProject) -> None:
    applied = {name: c["HostConfig"]["Memory"] for name, c in project.containers().items()}
    wanted = {name: bytes_of(str(memory_limit(spec))) for name, spec in compose_services().items()}
    assert applied == wanted
    print(project.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"))


@pytest.mark.parametrize("name", NAMES)
def test_each_service_runs_as_its_user_on_a_read_only_root(
    project: ComposeProject, name: str
) -> None:
    container = project.containers()[name]
    assert container["Config"]["User"] == SERVICE_USER
    assert container["HostConfig"]["ReadonlyRootfs"] is True
    assert container["State"]["Status"] == "running"


# Whose certificate each running container holds (compose.yaml: one volume per identity).
IDENTITIES = {**{name: name for name in NAMES}, "nats": "nats", "blackbox": "probe"}


@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_a_container_sees_only_its_own_key_and_certificate_and_the_ca_certificate(
    project: ComposeProject, name: str
) -> None:
    identity = IDENTITIES[name]
    # `sh` is in every image (the stand-ins have busybox's, with no `ls`); a glob that matches
    # nothing stays as written, and `.*` may match `.` and `..`.
    script = 'for f in /certs/* /certs/.*; do echo "${f##*/}"; done'
    listed = set(project.compose("exec", "-T", name, "sh", "-c", script).split())
    assert listed - {".", "..", "*", ".*"} == {"ca.crt", f"{identity}.crt", f"{identity}.key"}


@pytest.mark.parametrize("name", ["nats", "blackbox"])
def test_nats_and_the_blackbox_exporter_run_as_the_non_root_user(
    project: ComposeProject, name: str
) -> None:
    assert project.containers()[name]["Config"]["User"] == SERVICE_USER


def test_an_order_through_the_published_gateway_fills_and_jaeger_has_its_whole_trace(
    project: ComposeProject,
) -> None:
    order_id, trace_id = sell(project, f"compose-{project.name}-1")

    assert settled_status(project, order_id) == FILLED
    jaeger = "http://" + project.published("jaeger", 16686)
    trace = wait_for_trace(
        jaeger, trace_id, lambda t: t.services() == set(NAMES) and t.whole(), TRACE_SECONDS
    )
    assert trace.services() == set(NAMES), f"services {sorted(trace.services())}:\n{trace}"
    assert len(trace.roots()) == 1, str(trace)


def test_prometheus_scrapes_and_probes_every_service_and_alertmanager_answers(
    project: ComposeProject,
) -> None:
    prometheus = "http://" + project.published("prometheus", 9090)
    alertmanager = "http://" + project.published("alertmanager", 9093)

    deadline = time.monotonic() + SCRAPE_SECONDS
    while (up := services_up(prometheus)) != EVERY_JOB_UP and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)

    assert up == EVERY_JOB_UP
    assert get_json(f"{alertmanager}/api/v2/status")["cluster"]["status"] in ("ready", "disabled")


def services_up(prometheus: str) -> set[tuple[str, str]]:
    """(job, service) of every target Prometheus has scraped successfully."""
    targets = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
    return {(t["labels"]["job"], t["labels"]["service"]) for t in targets if t["health"] == "up"}


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_orders_crashing_restarts_on_failure_and_keeps_its_database(
    project: ComposeProject,
) -> None:
    """SIGKILL of the orders process (a crash: `docker kill` counts as a manual stop, which a
    restart policy leaves stopped); Docker restarts it and the volume kept every order."""
    before, _ = sell(project, f"compose-{project.name}-before-crash")
    assert settled_status(project, before) == FILLED
    orders = project.containers()["orders"]

    try:
        os.kill(int(orders["State"]["Pid"]), signal.SIGKILL)
    except ProcessLookupError:
        pytest.fail("the engine's processes are not on this host (Docker in a VM?)")

    deadline = time.monotonic() + RESTART_SECONDS
    while True:
        now = project.containers()["orders"]
        if now["RestartCount"] > orders["RestartCount"] and health(now) == "healthy":
            break
        assert time.monotonic() < deadline, f"orders not back: {now['State']}"
        time.sleep(POLL_SECONDS)
    assert order_status(project, before) == FILLED
    after, _ = sell(project, f"compose-{project.name}-after-crash")
    assert settled_status(project, after) == FILLED


def test_down_with_volumes_leaves_no_container_network_or_volume(
    project: ComposeProject,
) -> None:
    assert all(project.leftovers().values()), "the project should exist before down"

    project.down()

    assert project.leftovers() == {"containers": [], "networks": [], "volumes": []}
