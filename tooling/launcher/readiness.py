"""Waiting until each child is ready: a TCP port, an HTTP answer, or SERVING on grpc.health.v1."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence

import grpc

from mesh.health.check import is_serving
from tooling.launcher.children import Child

Check = Callable[[], bool]
POLL_SECONDS = 0.1

# A service still starting refuses connections; with gRPC's default reconnect backoff (1s,
# growing to 2 minutes) readiness would lag seconds behind it. Channel options are data.
QUICK_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


class StartupError(Exception):
    """A child did not get ready; the message names it and its log."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while waiting."""


def wait_ready(
    child: Child,
    check: Check,
    what: str,
    deadline: float,
    watched: Sequence[Child],
    stop: threading.Event,
) -> None:
    """Poll `check` until it passes; fail early if any watched child exits."""
    while not check():
        crashed = first_exited(watched)
        if crashed is not None:
            raise StartupError(exited_message(crashed))
        if time.monotonic() >= deadline:
            raise StartupError(
                f"{child.name} was not {what} in time; its log {child.log_path} ends with:\n"
                f"{child.log_tail()}"
            )
        if stop.wait(POLL_SECONDS):
            raise Interrupted


def first_exited(children: Sequence[Child]) -> Child | None:
    return next((child for child in children if child.exit_code() is not None), None)


def exited_message(child: Child) -> str:
    return (
        f"{child.name} exited with code {child.exit_code()}; its log {child.log_path} ends with:\n"
        f"{child.log_tail()}"
    )


def nats_accepts(host: str, port: int) -> Check:
    """A NATS server greets every new connection with an INFO line."""

    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=1) as conn:
                return conn.recv(5) == b"INFO "
        except OSError:
            return False

    return check


def port_open(address: str) -> Check:
    host, _, port = address.rpartition(":")

    def check() -> bool:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return True
        except OSError:
            return False

    return check


def http_ok(url: str) -> Check:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    return check


def grpc_serving(channel: grpc.Channel) -> Check:
    """The overall health (service "") is SERVING: the service says its dependencies are up."""
    return lambda: is_serving(channel, timeout=1)
