"""tooling/cli/alerts.py prints active alerts one per line, and says so when Alertmanager is
down."""

from __future__ import annotations

import socket

import pytest

from tooling.cli.alerts import alert_lines, main

SERVICE_DOWN = {
    "labels": {"alertname": "ServiceDown", "severity": "page", "service": "orders"},
    "annotations": {"summary": "orders is down", "description": "..."},
    "startsAt": "2026-11-29T07:01:05.123Z",
    "status": {"state": "active"},
}
DEAD_LETTERED = {
    "labels": {
        "alertname": "EventsDeadLettered",
        "severity": "ticket",
        "service": "fees",
        "consumer": "fees-OrderPlaced",
        "event": "OrderPlaced",
    },
    "annotations": {"summary": "fees-OrderPlaced dead-lettered OrderPlaced events"},
    "startsAt": "2026-11-29T07:00:00Z",
}


def test_each_alert_is_one_line_with_its_name_service_first_and_summary() -> None:
    assert alert_lines([SERVICE_DOWN]) == [
        "firing ServiceDown service=orders severity=page since 07:01:05Z: orders is down"
    ]


def test_alerts_are_listed_oldest_first_with_their_other_labels_sorted() -> None:
    assert alert_lines([SERVICE_DOWN, DEAD_LETTERED]) == [
        "firing EventsDeadLettered service=fees severity=ticket consumer=fees-OrderPlaced "
        "event=OrderPlaced since 07:00:00Z: fees-OrderPlaced dead-lettered OrderPlaced events",
        "firing ServiceDown service=orders severity=page since 07:01:05Z: orders is down",
    ]


def test_nothing_firing_is_said_in_words() -> None:
    assert alert_lines([]) == ["nothing firing"]


def test_an_alertmanager_that_is_not_running_is_one_clear_message_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    status = main(["--alertmanager", f"http://127.0.0.1:{port}"])

    err = capsys.readouterr().err
    assert status == 1
    assert f"Alertmanager is not answering at http://127.0.0.1:{port}" in err
    assert "make run" in err
