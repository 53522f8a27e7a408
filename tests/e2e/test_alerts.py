"""Transparency under the real `make run`: Prometheus scrapes every part, a frozen service pages
through Alertmanager and the launcher's terminal and resolves when it wakes, and a dead-lettered
event raises its alert."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
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
from tests.support.polling import poll
from tests.support.tools.browser import RESULTS, render

pytestmark = pytest.mark.e2e

# At worst: a probe just missed (15 s), its timeout (3 s), `for: 15s` seen at the next 15 s
# evaluation (30 s), Alertmanager's group_wait (2 s); 40 s were seen.
ALERT_WITHIN_SECONDS = 90.0
POLL_SECONDS = 1.0
PLACE_SELL_ORDER = "simplebank.gateway.v1.GatewayService/PlaceSellOrder"
ALERTS = (
    "ServiceDown",
    "ReplicaDown",
    "SLOAvailabilityBurn",
    "SLOLatencyBurn",
    "EventsDeadLettered",
    "ConsumerLagGrowing",
    "OutboxBacklog",
)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """A mesh of its own: this module freezes one of its services."""
    with launched_mesh(tmp_path_factory.mktemp("alerts")) as running:
        yield running


@pytest.fixture(scope="module")
def orders_placed(mesh: LaunchedMesh) -> None:
    """Alice has sold 3 AAPL through the gateway: PlaceSellOrder has metrics to scrape."""
    with mesh.customer("alice-token", "acc-alice") as alice:
        for n in range(3):
            alice.sell("AAPL", 1, request_id=f"e2e-alerts-{n}")


@pytest.fixture(scope="module")
def dead_lettered(mesh: LaunchedMesh) -> None:
    """An event no consumer can read has been published once: market dead-letters it, and
    EventsDeadLettered fires for 5 minutes (each test waits for the firing it looks at)."""
    asyncio.run(publish_unreadable_order_created(mesh.ready.nats_url, mesh.data_dir / "certs"))


def dead_letter_alert_firing(mesh: LaunchedMesh) -> bool:
    return any(
        (a.get("consumer"), a.get("event")) == ("market", "OrderCreated")
        for a in firing(mesh, "EventsDeadLettered")
    )


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


def inhibited(mesh: LaunchedMesh, alertname: str) -> list[dict[str, str]]:
    """The labels of each alert of that name that Alertmanager holds back by an inhibit rule."""
    url = mesh.ready.watchers["alertmanager"].address
    query = urllib.parse.urlencode(
        {"filter": f'alertname="{alertname}"', "active": "false", "inhibited": "true"}
    )
    alerts = get_json(f"{url}/api/v2/alerts?{query}")
    return [a["labels"] for a in alerts if a["status"]["inhibitedBy"]]


def eventually(
    condition: Callable[[], bool], what: str, within: float = ALERT_WITHIN_SECONDS
) -> float:
    """Seconds it took for `condition` to hold; fails naming `what` if it never did."""
    started = time.monotonic()
    poll(condition, bool, within, what, POLL_SECONDS)
    return time.monotonic() - started


def test_prometheus_has_the_gateway_latency_histogram_and_every_target_up(
    mesh: LaunchedMesh, orders_placed: None
) -> None:
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
        # Its one replica is down too; Alertmanager holds that back behind the page.
        eventually(
            lambda: any(a.get("service") == "orders" for a in inhibited(mesh, "ReplicaDown")),
            "ReplicaDown{service=orders} inhibited by ServiceDown in Alertmanager",
        )
    finally:
        os.kill(orders, signal.SIGCONT)
    resolved_after = eventually(
        lambda: not firing(mesh, "ServiceDown"), "ServiceDown resolved after SIGCONT"
    )
    eventually(lambda: "ALERT resolved ServiceDown service=orders" in mesh.output(), "the line")

    assert "ALERT firing ServiceDown service=orders" in mesh.output()
    assert "ReplicaDown" not in mesh.output(), "an inhibited alert reached the webhook"
    print(
        f"ServiceDown fired {fired_after:.0f}s after SIGSTOP, resolved {resolved_after:.0f}s later"
    )


def _first(alerts: list[dict[str, str]]) -> dict[str, str]:
    return alerts[0] if alerts else {}


def test_a_dead_lettered_event_raises_its_alert(mesh: LaunchedMesh, dead_lettered: None) -> None:
    eventually(
        lambda: dead_letter_alert_firing(mesh),
        "EventsDeadLettered{consumer=market, event=OrderCreated} firing",
    )


def test_the_prometheus_alerts_page_lists_every_alert_and_shows_one_firing(
    mesh: LaunchedMesh, dead_lettered: None
) -> None:
    eventually(lambda: dead_letter_alert_firing(mesh), "EventsDeadLettered firing")
    prometheus = mesh.ready.watchers["prometheus"].address

    dom, _ = render(f"{prometheus}/classic/alerts", RESULTS / "prometheus-alerts.png")

    for alert in ALERTS:
        assert alert in dom
    assert re.search(r"EventsDeadLettered\s*\(1 active\)", text_of(dom)), "not shown firing"


def test_a_prometheus_graph_draws_the_place_sell_order_rate(
    mesh: LaunchedMesh, orders_placed: None
) -> None:
    prometheus = mesh.ready.watchers["prometheus"].address
    calls = f'rpc_server_call_duration_seconds_count{{rpc_method="{PLACE_SELL_ORDER}"}}'
    expr = f"sum by (rpc_method) (rate({calls}[1m]))"
    eventually(lambda: bool(prometheus_query(mesh, expr)), "a PlaceSellOrder rate to draw")
    query = urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": "15m"})

    dom, _ = render(f"{prometheus}/classic/graph?{query}", RESULTS / "prometheus-graph.png")

    shown = text_of(dom)
    assert "Total time series: 1" in shown, "the query drew no series"
    # Once in the expression, once in the graph's legend.
    assert shown.count(f'{{rpc_method="{PLACE_SELL_ORDER}"}}') >= 2, "no series in the legend"


def test_the_alertmanager_ui_shows_the_firing_alert_with_its_labels(
    mesh: LaunchedMesh, dead_lettered: None
) -> None:
    alertmanager = mesh.ready.watchers["alertmanager"].address
    eventually(lambda: dead_letter_alert_firing(mesh), "EventsDeadLettered firing")

    dom, _ = render(f"{alertmanager}/#/alerts", RESULTS / "alertmanager.png")

    shown = text_of(dom)
    assert "EventsDeadLettered" in shown
    assert 'consumer="market"' in shown
    assert 'event="OrderCreated"' in shown


def text_of(dom: str) -> str:
    """The page's text, tags dropped and spaces folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(dom)).split())


async def publish_unreadable_order_created(url: str, certs: Path) -> None:
    """A message no consumer can read: market dead-letters it at once. Sent as orders, whose
    event OrderCreated is: the operator's NATS user may publish no event."""
    async with jetstream.jetstream(url, certs, "orders") as (_, js):
        await js.publish(
            "simplebank.events.OrderCreated",
            b"\xff\xff not a protobuf",
            headers={"Nats-Msg-Id": f"e2e-unreadable-{time.time_ns()}"},
        )
