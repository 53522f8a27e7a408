"""The lifecycle of `make run`: start NATS and Jaeger, then the services; watch; stop in order."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence

import grpc

from mesh.services import SERVICES
from scripts.launcher.banner import say
from scripts.launcher.children import Child
from scripts.launcher.readiness import (
    QUICK_RECONNECT,
    Check,
    StartupError,
    first_exited,
    grpc_serving,
    http_ok,
    nats_accepts,
    port_open,
    wait_ready,
)
from scripts.launcher.settings import (
    TOOLS,
    Settings,
    jaeger_command,
    jaeger_env,
    nats_command,
    service_env,
)


class Supervisor:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.infrastructure: list[Child] = []
        self.services: list[Child] = []

    @property
    def children(self) -> list[Child]:
        return [*self.infrastructure, *self.services]

    def start(self) -> None:
        """Start everything and return once all of it is ready (or raise StartupError)."""
        require_tools(["nats-server", "jaeger"] if self.settings.tracing else ["nats-server"])
        self._check_ports_are_free()
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.settings.timeout
        self._start_infrastructure(deadline)
        self._start_services(deadline)

    def watch(self) -> Child | None:
        """Block until Ctrl-C or SIGTERM (None) or until a child exits (that child).

        Jaeger is the exception: tracing must never hold the mesh up, so when it goes away the
        services drop their spans and go on, and so does the launcher.
        """
        jaeger_reported = False
        while not self.stop.wait(0.5):
            crashed = first_exited([c for c in self.children if c.name != "jaeger"])
            if crashed is not None:
                return crashed
            jaeger = next((c for c in self.children if c.name == "jaeger"), None)
            if jaeger is not None and jaeger.exit_code() is not None and not jaeger_reported:
                say(
                    f"jaeger exited (code {jaeger.exit_code()}): spans are dropped, "
                    "the mesh keeps running"
                )
                jaeger_reported = True
        return None

    def shutdown(self) -> list[str]:
        """Services first, so they finish in-flight work and flush spans; then NATS and Jaeger.

        Returns the names of children that had to be killed.
        """
        timeout = self.settings.stop_timeout
        return [*stop_all(self.services, timeout), *stop_all(self.infrastructure, timeout)]

    def _start_infrastructure(self, deadline: float) -> None:
        settings = self.settings
        nats = self._spawn(self.infrastructure, "nats", nats_command(settings), settings.environ)
        jaeger = None
        if settings.tracing:
            jaeger = self._spawn(
                self.infrastructure, "jaeger", jaeger_command(), jaeger_env(settings)
            )
        self._wait(nats, nats_accepts(*settings.nats_host_port), "accepting connections", deadline)
        if jaeger is not None:
            self._wait(jaeger, port_open(settings.jaeger_otlp_addr), "taking OTLP", deadline)
            api = f"{settings.query_url}/api/services"
            self._wait(jaeger, http_ok(api), "answering queries", deadline)

    def _start_services(self, deadline: float) -> None:
        # All five start together and wait for each other through their health.
        for service in SERVICES:
            args = [sys.executable, "-m", service.module]  # the launcher's virtualenv
            self._spawn(self.services, service.name, args, service_env(self.settings, service.name))
        for child in self.services:
            address = self.settings.service_addrs[child.name]
            with grpc.insecure_channel(address, options=QUICK_RECONNECT) as channel:
                self._wait(child, grpc_serving(channel), "SERVING", deadline)

    def _spawn(
        self, group: list[Child], name: str, args: Sequence[str], env: Mapping[str, str]
    ) -> Child:
        child = Child.start(name, args, env, self.settings.log_dir)
        group.append(child)
        return child

    def _wait(self, child: Child, check: Check, what: str, deadline: float) -> None:
        wait_ready(child, check, what, deadline, self.children, self.stop)

    def _check_ports_are_free(self) -> None:
        """A port already taken (say by another `make run`) would pass our readiness checks."""
        settings = self.settings
        host, port = settings.nats_host_port
        wanted = {"nats": f"{host}:{port}", **settings.service_addrs}
        if settings.tracing:
            wanted |= {
                "jaeger": settings.jaeger_otlp_addr,
                "jaeger query": settings.jaeger_query_addr,
            }
        for name, address in wanted.items():
            if port_open(address)():
                raise StartupError(
                    f"{address} ({name}) is already taken: is another `make run` up? "
                    "Stop it, or choose other ports with the *_ADDR variables."
                )


def require_tools(names: Sequence[str]) -> None:
    missing = [name for name in names if not (TOOLS / name).is_file()]
    if missing:
        raise StartupError(f"{', '.join(missing)} missing from {TOOLS}: run `make tools` first")


def stop_all(children: Sequence[Child], timeout: float) -> list[str]:
    """SIGTERM each, wait up to `timeout` for all of them, then SIGKILL whatever is left."""
    for child in children:
        if child.exit_code() is None:
            child.send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    killed = []
    for child in children:
        if child.wait(deadline - time.monotonic()) is None:
            child.send(signal.SIGKILL)
            child.wait(timeout)
            killed.append(child.name)
    return killed
