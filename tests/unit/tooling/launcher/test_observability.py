"""make run's watchers: this run's addresses written into copies of config/, and alert lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import ConfigError, Env
from tooling.launcher.alert_webhook import alert_line
from tooling.launcher.observability import (
    Observability,
    address_moves,
    rendered,
    write_configs,
)

SERVICE_ADDRS = {
    "gateway": "127.0.0.1:20051",
    "orders": "127.0.0.1:20052",
    "accounts": "127.0.0.1:20053",
    "fees": "127.0.0.1:20054",
    "market": "127.0.0.1:20055",
}
METRICS_ADDRS = {name: f"127.0.0.1:2946{i}" for i, name in enumerate(SERVICE_ADDRS, start=1)}


def test_only_whole_addresses_are_moved() -> None:
    moves = {"127.0.0.1:9090": "127.0.0.1:19090"}

    text = "a 127.0.0.1:9090 b 127.0.0.1:90901 c 10.127.0.0.1:9090 d [127.0.0.1:9090]"

    assert rendered(text, moves) == (
        "a 127.0.0.1:19090 b 127.0.0.1:90901 c 10.127.0.0.1:9090 d [127.0.0.1:19090]"
    )


def test_nothing_moves_when_every_part_is_at_its_default() -> None:
    assert rendered("a 127.0.0.1:9090 b", {}) == "a 127.0.0.1:9090 b"


def test_the_copies_of_config_point_at_this_runs_ports_and_the_rules(tmp_path: Path) -> None:
    parts = Observability.from_env(Env({"PROMETHEUS_ADDR": "127.0.0.1:19090"}))

    configs = write_configs(tmp_path, address_moves(parts, SERVICE_ADDRS, METRICS_ADDRS))

    prometheus = configs["prometheus"].read_text()
    for address in (*SERVICE_ADDRS.values(), *METRICS_ADDRS.values(), "127.0.0.1:19090"):
        assert f'"{address}"' in prometheus
    assert "127.0.0.1:9461" not in prometheus
    assert "127.0.0.1:50051" not in prometheus
    assert "- rules/*.yml" not in prometheus
    assert "/config/prometheus/rules/*.yml" in prometheus
    assert "http://127.0.0.1:9095/alerts" in configs["alertmanager"].read_text()


def test_a_malformed_address_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="ALERTMANAGER_ADDR='nine': expected host:port"):
        Observability.from_env(Env({"ALERTMANAGER_ADDR": "nine"}))
    with pytest.raises(
        ConfigError, match=r"ORDERS_METRICS_ADDR='127\.0\.0\.1': expected host:port"
    ):
        Env({"ORDERS_METRICS_ADDR": "127.0.0.1"}).metrics_addr("orders")


def test_an_alert_is_one_line_with_its_state_name_scope_and_summary() -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "ServiceDown", "service": "orders", "severity": "page"},
        "annotations": {"summary": "orders is not answering its heartbeat"},
    }

    assert alert_line(alert) == (
        "ALERT firing ServiceDown service=orders: orders is not answering its heartbeat"
    )
    assert alert_line({"status": "resolved", "labels": {"alertname": "OutboxBacklog"}}) == (
        "ALERT resolved OutboxBacklog"
    )
