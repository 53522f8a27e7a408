"""Alertmanager's receiver in `make run`: every alert, firing or resolved, as one terminal line."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def alert_line(alert: Mapping[str, Any]) -> str:
    """`ALERT firing ServiceDown service=orders: orders is not answering its heartbeat`."""
    labels = alert.get("labels", {})
    name = labels.get("alertname", "?")
    scope = " ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k in ("service", "consumer"))
    summary = alert.get("annotations", {}).get("summary", "")
    return " ".join(p for p in ("ALERT", alert.get("status", "?"), name, scope) if p) + (
        f": {summary}" if summary else ""
    )


class AlertWebhook:
    """Listens on `address` for Alertmanager's webhook posts and hands each line to `show`."""

    def __init__(self, address: str, show: Callable[[str], None]) -> None:
        host, _, port = address.rpartition(":")

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    payload = json.loads(self.rfile.read(length))
                    lines = [alert_line(alert) for alert in payload.get("alerts", [])]
                except (ValueError, AttributeError):
                    self.send_error(400, "expected Alertmanager's webhook JSON")
                    return
                for line in lines:
                    show(line)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None  # each alert is shown once, as its own line

        self._server = ThreadingHTTPServer((host, int(port)), Receiver)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="alert-webhook", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
