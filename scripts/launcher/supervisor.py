"""The lifecycle of `make run`: NATS and Jaeger, the services, the watchers; stop in reverse."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence

from mesh.services import SERVICES
from scripts.launcher import observability, parts_logs, security
from scripts.launcher.alert_webhook import AlertWebhook
from scripts.launcher.banner import say
from scripts.launcher.children import Child
from scripts.launcher.paths import TOOLS
from scripts.launcher.readiness import (
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
    Settings,
    jaeger_command,
    jaeger_env,
    nats_command,
    service_env,
)

# Children whose exit leaves the mesh running: what a person is told when one goes.
ONLOOKERS = {
    "jaeger": "spans are dropped, the mesh keeps running",
    "victorialogs": "log records are dropped (data/logs keeps every line), the mesh keeps running",
    "prometheus": "no metrics or alerts, the mesh keeps running",
    "alertmanager": "alerts are not delivered, the mesh keeps running",
    "blackbox": "no heartbeats, the mesh keeps running",
}


class Supervisor:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.infrastructure: list[Child] = []
        self.services: list[Child] = []
        self.watchers: list[Child] = []  # Prometheus, the blackbox exporter, Alertmanager
        self.webhook: AlertWebhook | None = None

    @property
    def children(self) -> list[Child]:
        return [*self.infrastructure, *self.services, *self.watchers]

    def start(self) -> None:
        """Start everything and return once all of it is ready (or raise StartupError)."""
        settings = self.settings
        tools = ["nats-server", *(["jaeger", "victoria-logs"] if settings.tracing else [])]
        if settings.observability is not None:
            tools += observability.TOOL_NAMES
        require_tools(tools)
        self._check_ports_are_free()
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        issued = security.prepare(settings)
        if issued:
            say(f"certificates issued in {settings.certs_dir}: {', '.join(issued)}")
        deadline = time.monotonic() + settings.timeout
        self._start_infrastructure(deadline)
        self._start_services(deadline)
        if settings.observability is not None:
            self._start_observability(settings.observability, deadline)

    def watch(self) -> Child | None:
        """Block until Ctrl-C or SIGTERM (None) or until a child exits (that child).

        Jaeger is the exception: tracing must never hold the mesh up, so when it goes away the
        services drop their spans and go on, and so does the launcher.
        """
        reported: set[str] = set()
        while not self.stop.wait(0.5):
            crashed = first_exited([c for c in self.children if c.name not in ONLOOKERS])
            if crashed is not None:
                return crashed
            for child in self.children:
                gone = child.name in ONLOOKERS and child.exit_code() is not None
                if gone and child.name not in reported:
                    say(f"{child.name} exited (code {child.exit_code()}): {ONLOOKERS[child.name]}")
                    reported.add(child.name)
        return None

    def shutdown(self) -> list[str]:
        """Services first, so they finish in-flight work and flush spans; then NATS and Jaeger.

        Returns the names of children that had to be killed.
        """
        timeout = self.settings.stop_timeout
        killed = stop_all(self.watchers, timeout)
        if self.webhook is not None:
            self.webhook.stop()
        return [*killed, *stop_all(self.services, timeout), *stop_all(self.infrastructure, timeout)]

    def _start_infrastructure(self, deadline: float) -> None:
        settings = self.settings
        nats = self._spawn(self.infrastructure, "nats", nats_command(settings), settings.environ)
        jaeger = store = None
        if settings.tracing:
            jaeger = self._spawn(
                self.infrastructure, "jaeger", jaeger_command(), jaeger_env(settings)
            )
            store_command = parts_logs.victorialogs_command(
                settings.data_dir, settings.victorialogs_addr
            )
            store = self._spawn(
                self.infrastructure, "victorialogs", store_command, settings.environ
            )
        self._wait(nats, nats_accepts(*settings.nats_host_port), "accepting connections", deadline)
        if jaeger is not None:
            self._wait(jaeger, port_open(settings.jaeger_otlp_addr), "taking OTLP", deadline)
            api = f"{settings.query_url}/api/services"
            self._wait(jaeger, http_ok(api), "answering queries", deadline)
        if store is not None:
            health = parts_logs.victorialogs_ready_url(settings.victorialogs_addr)
            self._wait(store, http_ok(health), "taking log records", deadline)

    def _start_services(self, deadline: float) -> None:
        # All five start together and wait for each other through their health.
        for service in SERVICES:
            args = [sys.executable, "-m", service.module]  # the launcher's virtualenv
            self._spawn(self.services, service.name, args, service_env(self.settings, service.name))
        for child in self.services:
            with security.health_channel_to(self.settings, child.name) as channel:
                self._wait(child, grpc_serving(channel), "SERVING", deadline)

    def _start_observability(self, parts: observability.Observability, deadline: float) -> None:
        """After the services, so the first scrapes and probes find them up."""
        settings = self.settings
        moves = observability.address_moves(parts, settings.service_addrs, settings.metrics_addrs)
        configs = observability.write_configs(
            settings.data_dir / "observability",
            moves,
            settings.certs_dir if settings.mesh_tls else None,
        )
        self.webhook = AlertWebhook(parts.webhook_addr, say)
        self.webhook.start()
        commands = observability.commands(parts, configs, settings.data_dir)
        started = {
            name: self._spawn(self.watchers, name, command, settings.environ)
            for name, command in commands.items()
        }
        for name, (check, what) in observability.readiness(parts).items():
            self._wait(started[name], check, what, deadline)

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
                "victorialogs": settings.victorialogs_addr,
            }
        wanted |= {f"{name} metrics": addr for name, addr in settings.metrics_addrs.items()}
        if settings.observability is not None:
            wanted |= settings.observability.listening()
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
