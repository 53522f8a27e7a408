"""What is firing now: ask Alertmanager's API v2 for its active alerts and print one line each.

    python tooling/cli/alerts.py [--alertmanager http://127.0.0.1:9093]

Standard library only. The address defaults to ALERTMANAGER_ADDR (host:port), else
127.0.0.1:9093. Exits 0 when it could ask (firing or not), 1 when Alertmanager does not answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_ADDR = "127.0.0.1:9093"
QUERY = "/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=false"
SHOWN_FIRST = ("service", "severity")  # then the other labels, alphabetically


def alert_line(alert: Mapping[str, Any]) -> str:
    """`firing ServiceDown service=orders severity=page since 12:00:05Z: orders is down`."""
    labels: dict[str, str] = dict(alert.get("labels") or {})
    name = labels.pop("alertname", "?")
    keys = [k for k in SHOWN_FIRST if k in labels] + sorted(set(labels) - set(SHOWN_FIRST))
    shown = " ".join(f"{key}={labels[key]}" for key in keys)
    since = str(alert.get("startsAt", "?"))
    since = since[11:19] + "Z" if len(since) >= 19 else since  # the time of day is enough here
    summary = (alert.get("annotations") or {}).get("summary", "")
    return f"firing {name} {shown} since {since}" + (f": {summary}" if summary else "")


def alert_lines(alerts: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per alert, oldest first; a line saying so when nothing fires."""
    if not alerts:
        return ["nothing firing"]
    ordered = sorted(alerts, key=lambda a: (str(a.get("startsAt", "")), alert_line(a)))
    return [alert_line(alert) for alert in ordered]


def fetch_alerts(base_url: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    with urllib.request.urlopen(base_url.rstrip("/") + QUERY, timeout=timeout) as response:
        payload = json.load(response)
    if not isinstance(payload, list):
        raise ValueError(f"unexpected answer from {base_url}: {payload!r:.200}")
    return payload


def default_url() -> str:
    return "http://" + (os.environ.get("ALERTMANAGER_ADDR") or DEFAULT_ADDR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the alerts Alertmanager has firing now.")
    parser.add_argument("--alertmanager", default=default_url(), help="base URL of Alertmanager")
    args = parser.parse_args(argv)
    try:
        alerts = fetch_alerts(args.alertmanager)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        print(
            f"Alertmanager is not answering at {args.alertmanager} ({reason}): "
            "is the mesh running with its monitoring (`make run`)?",
            file=sys.stderr,
        )
        return 1
    for line in alert_lines(alerts):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
