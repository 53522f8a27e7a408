"""Transparency under the real `make run`: Prometheus scrapes every part, a frozen service pages
through Alertmanager and the launcher's terminal and resolves when it wakes, and a dead-lettered
event raises its alert."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.launcher import LaunchedMesh, launched_mesh
from tests.support.data import jetstream

pytestmark = pytest.mark.e2e

ALERT_WITHIN_SECONDS = 60.0
POLL_SECONDS = 1.0
PLACE_SELL_ORDER = "simplebank.gateway.v1.GatewayService/PlaceSellOrder"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """A mesh of its own: this module freezes one of its services."""
    with launched_mesh(tmp_path_factory.mktemp("alerts")) as running:
        yield running


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def prometheus_query(mesh: LaunchedMesh, promql: str) -> list[dict[str, Any]]:
    url = mesh.ready.watchers["prometheus"].address
    answer = get_json(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    return list(answer["data"]["result"])


def firing(mesh: LaunchedMesh, alertname: str) -> list[dict[str, str]]:
    """The labels of each active, unsilenced alert of that name in Alertmanager."""
    url = mesh.ready.watchers["alertmanager"].address
    query = urllib.parse.urlencode({"filter": f'alertname="{alertname}"', "active": "true"})
    return [alert["labels"] for alert in get_json(f"{url}/api/v2/alerts?{query}")]


def eventually(
    condition: Callable[[], bool], what: str, within: float = ALERT_WITHIN_SECONDS
) -> float:
    """Seconds it took for `condition` to hold; fails naming `what` if it never did."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            pytest.fail(f"not within {within:.0f}s: {what}", pytrace=False)
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def test_prometheus_has_the_gateway_latency_histogram_and_every_target_up(
    mesh: LaunchedMesh,
) -> None:
    with mesh.customer("alice-token", "acc-alice") as alice:
        for n in range(3):
            alice.sell("AAPL", 1, request_id=f"e2e-alerts-{n}")
    histogram = (
        f'rpc_server_call_duration_seconds_bucket{{service="gateway",rpc_method="{PLACE_SELL_ORDER}",'
        'rpc_response_status_code="OK",le="0.1"}'
    )

    eventually(lambda: bool(prometheus_query(mesh, histogram)), "the PlaceSellOrder histogram")
    eventually(lambda: every_target_up(mesh), "every scrape target scraped and up")

    services = {r["metric"]["service"] for r in prometheus_query(mesh, 'up{job="services"} == 1')}
    assert services == set(mesh.services)
    assert not prometheus_query(mesh, "up == 0")


def every_target_up(mesh: LaunchedMesh) -> bool:
    targets = get_json(f"{mesh.ready.watchers['prometheus'].address}/api/v1/targets")
    active = targets["data"]["activeTargets"]
    jobs = {target["labels"]["job"] for target in active}
    expected = {"services", "heartbeat", "nats", "jaeger", "prometheus", "alertmanager", "blackbox"}
    return jobs == expected and all(target["health"] == "up" for target in active)


def test_a_frozen_service_pages_and_resolves_when_it_wakes(mesh: LaunchedMesh) -> None:
    orders = mesh.pids["orders"]
    os.kill(orders, signal.SIGSTOP)
    try:
        fired_after = eventually(
            lambda: {"service": "orders"}.items() <= _first(firing(mesh, "ServiceDown")).items(),
            "ServiceDown{service=orders} firing in Alertmanager",
        )
    finally:
        os.kill(orders, signal.SIGCONT)
    resolved_after = eventually(
        lambda: not firing(mesh, "ServiceDown"), "ServiceDown resolved after SIGCONT"
    )
    eventually(lambda: "ALERT resolved ServiceDown service=orders" in mesh.output(), "the line")

    assert "ALERT firing ServiceDown service=orders" in mesh.output()
    print(
        f"ServiceDown fired {fired_after:.0f}s after SIGSTOP, resolved {resolved_after:.0f}s later"
    )


def _first(alerts: list[dict[str, str]]) -> dict[str, str]:
    return alerts[0] if alerts else {}


def test_a_dead_lettered_event_raises_its_alert(mesh: LaunchedMesh) -> None:
    asyncio.run(publish_unreadable_order_created(mesh.ready.nats_url, mesh.data_dir / "certs"))

    eventually(
        lambda: any(
            a.get("consumer") == "market-OrderCreated" for a in firing(mesh, "EventsDeadLettered")
        ),
        "EventsDeadLettered{consumer=market-OrderCreated} firing",
    )


async def publish_unreadable_order_created(url: str, certs: Path) -> None:
    """A message no consumer can read: market dead-letters it at once (sent as the operator)."""
    async with jetstream.jetstream(url, certs) as (_, js):
        await js.publish(
            "simplebank.events.OrderCreated",
            b"\xff\xff not a protobuf",
            headers={"Nats-Msg-Id": f"e2e-unreadable-{time.time_ns()}"},
        )
