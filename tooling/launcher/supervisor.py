"""The lifecycle of `make run` and `make cluster`: NATS (and PostgreSQL) and Jaeger, the
services, the watchers; stop in reverse.

A service replica, a NATS node or PostgreSQL that exits while the mesh runs is restarted after
a backoff (0.5 s, doubling, at most 8 s), with one line in the terminal; Jaeger, the log store
and the watchers are not (ONLOOKERS). One that exits GIVE_UP_AFTER times within CRASH_WINDOW
seconds is given up on, with the end of its log shown; the rest of the mesh keeps running
(degraded, as docs/resilience.md's table says) until Ctrl-C, which then exits 1.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace

from mesh.security.identity import PROVISIONER
from tooling.launcher import database, observability, parts_logs, ready_file, security
from tooling.launcher.alert_webhook import AlertWebhook
from tooling.launcher.banner import say
from tooling.launcher.children import Child
from tooling.launcher.paths import TOOLS
from tooling.launcher.port_holders import holders
from tooling.launcher.readiness import (
    Check,
    StartupError,
    exited_message,
    grpc_serving,
    http_ok,
    nats_accepts,
    port_open,
    wait_ready,
)
from tooling.launcher.settings import (
    Settings,
    jaeger_command,
    jaeger_env,
    nats_command,
    service_env,
)
from tooling.launcher.wakeup import SignalWakeup

# Children whose exit leaves the mesh running: what a person is told when one goes. They are
# not restarted: they watch the mesh, and a person (or a test) may stop one on purpose.
ONLOOKERS = {
    "jaeger": "spans are dropped, the mesh keeps running",
    "victorialogs": "log records are dropped (data/logs keeps every line), the mesh keeps running",
    "prometheus": "no metrics or alerts, the mesh keeps running",
    "alertmanager": "alerts are not delivered, the mesh keeps running",
    "blackbox": "no heartbeats, the mesh keeps running",
}
GIVE_UP_AFTER = 5  # exits within CRASH_WINDOW seconds
CRASH_WINDOW = 60.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0


class Supervisor:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings
        self.stop = stop
        self.infrastructure: list[Child] = []
        self.services: list[Child] = []
        self.watchers: list[Child] = []  # Prometheus, the blackbox exporter, Alertmanager
        self.webhook: AlertWebhook | None = None
        self.given_up: list[Child] = []
        self._exits: dict[str, deque[float]] = {}  # child name -> when it exited, recently
        self._restart_at: dict[str, float] = {}
        self.database_urls: dict[str, str] = {}  # by service, with PostgreSQL

    @property
    def children(self) -> list[Child]:
        return [*self.infrastructure, *self.services, *self.watchers]

    def start(self) -> None:
        """Start everything and return once all of it is ready (or raise StartupError)."""
        settings = self.settings = without_missing_parts(self.settings)
        tools = ["nats-server", *(["jaeger", "victoria-logs"] if settings.tracing else [])]
        if settings.postgres_addr is not None:
            tools += [] if shutil.which("postgres") else ["postgres (PostgreSQL 15)"]
        if settings.observability is not None:
            tools += observability.TOOL_NAMES
        require_tools(tools)
        self._check_ports_are_free()
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        issued = security.prepare(settings)
        if issued:
            say(f"certificates issued in {settings.certs_dir}: {', '.join(issued)}")
        postgres = settings.postgres_addr
        if postgres is not None and database.prepare(database.server(settings.data_dir, postgres)):
            say(f"PostgreSQL initialised in {settings.data_dir / 'postgres'}")
        deadline = time.monotonic() + settings.timeout
        self._start_infrastructure(deadline)
        # Alongside the services, which wait for their durables until it has made them.
        provisioner = Child.start(
            PROVISIONER,
            [sys.executable, "-m", "mesh.events.provision"],
            service_env(settings, PROVISIONER),
            settings.log_dir,
        )
        self._start_services(deadline)
        self._provisioned(provisioner, deadline)
        if settings.observability is not None:
            self._start_observability(settings.observability, deadline)

    def watch(self) -> None:
        """Block until Ctrl-C or SIGTERM, restarting children that exit meanwhile.

        Children are restarted from this (the main) thread: the kernel's parent-death signal
        follows the thread that started a child (tooling/launcher/children.py). It sleeps until
        a signal comes (a child's exit, or stop) or a restart's backoff is over.
        """
        reported: set[str] = set()
        with SignalWakeup() as wakeup:
            while not self.stop.is_set():
                for group in (self.infrastructure, self.services, self.watchers):
                    for index, child in enumerate(group):
                        if child in self.given_up or child.exit_code() is None:
                            continue
                        if child.name not in ONLOOKERS:
                            group[index] = self._restart_or_give_up(child)
                        elif child.name not in reported:
                            code, why = child.exit_code(), ONLOOKERS[child.name]
                            say(f"{child.name} exited (code {code}): {why}")
                            reported.add(child.name)
                wakeup.wait(self._until_next_restart())

    def _until_next_restart(self) -> float | None:
        """Seconds until the first backoff is over; None with no restart waiting."""
        if not self._restart_at:
            return None
        return max(0.0, min(self._restart_at.values()) - time.monotonic())

    def _restart_or_give_up(self, child: Child) -> Child:
        """The child to watch from now on: `child` itself until its backoff is over."""
        now = time.monotonic()
        due = self._restart_at.get(child.name)
        if due is None:
            exits = self._exits.setdefault(child.name, deque())
            exits.append(now)
            while exits[0] < now - CRASH_WINDOW:
                exits.popleft()
            if len(exits) >= GIVE_UP_AFTER:
                self.given_up.append(child)
                say(
                    f"{child.name} exited {len(exits)} times within {CRASH_WINDOW:.0f}s: given up;"
                    f" the rest keeps running. {exited_message(child)}",
                    error=True,
                )
                return child
            backoff = min(FIRST_BACKOFF * 2 ** (len(exits) - 1), MAX_BACKOFF)
            self._restart_at[child.name] = now + backoff
            say(
                f"{child.name} exited with code {child.exit_code()}; restarting it in"
                f" {backoff:g}s ({len(exits)} of {GIVE_UP_AFTER} exits allowed in"
                f" {CRASH_WINDOW:.0f}s)",
                error=True,
            )
            return child
        if now < due:
            return child
        del self._restart_at[child.name]
        restarted = child.restarted()
        self._rewrite_ready_file({child.name: restarted.pid})
        return restarted

    def _rewrite_ready_file(self, pids: Mapping[str, int]) -> None:
        path = self.settings.ready_file
        if path is not None and path.exists():
            ready_file.write(path, ready_file.read(path).with_pids(pids))

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
        nodes = [
            (node, self._spawn(self.infrastructure, node.name, nats_command(settings, node)))
            for node in settings.nats_nodes
        ]
        postgres = postgres_child = None
        if settings.postgres_addr is not None:
            postgres = database.server(settings.data_dir, settings.postgres_addr)
            postgres_child = self._spawn(self.infrastructure, "postgres", postgres.server_command())
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
        for node, child in nodes:
            host, _, port = node.client_addr.rpartition(":")
            self._wait(child, nats_accepts(host, int(port)), "accepting connections", deadline)
        if postgres is not None and postgres_child is not None:
            self._wait(postgres_child, database.accepts(postgres), "accepting logins", deadline)
            self.database_urls = database.database_urls(postgres)
        if jaeger is not None:
            self._wait(jaeger, port_open(settings.jaeger_otlp_addr), "taking OTLP", deadline)
            api = f"{settings.query_url}/api/services"
            self._wait(jaeger, http_ok(api), "answering queries", deadline)
        if store is not None:
            health = parts_logs.victorialogs_ready_url(settings.victorialogs_addr)
            self._wait(store, http_ok(health), "taking log records", deadline)

    def _provisioned(self, provisioner: Child, deadline: float) -> None:
        """Return once the provisioner has made the stream and the durables and exited 0."""
        self._wait(provisioner, lambda: provisioner.exit_code() is not None, "done", deadline)
        if provisioner.exit_code() != 0:
            raise StartupError(exited_message(provisioner))

    def _start_services(self, deadline: float) -> None:
        # All replicas start together and wait for each other through their health.
        settings = self.settings
        started = []
        for replica in settings.replicas:
            args = [sys.executable, "-m", f"services.{replica.service}"]  # the launcher's venv
            url = self.database_urls.get(replica.service, "")
            env = service_env(settings, replica.service, replica, url)
            started.append((replica, self._spawn(self.services, replica.name, args, env)))
        for replica, child in started:
            with security.health_channel_to(settings, replica.service, replica.addr) as channel:
                self._wait(child, grpc_serving(channel), "SERVING", deadline)

    def _start_observability(self, parts: observability.Observability, deadline: float) -> None:
        """After the services, so the first scrapes and probes find them up."""
        settings = self.settings
        firsts = {r.service: r for r in reversed(settings.replicas)}  # first replica of each
        moves = observability.address_moves(
            parts,
            {name: r.addr for name, r in firsts.items()},
            {name: r.metrics_addr for name, r in firsts.items()},
        )
        configs = observability.write_configs(
            settings.data_dir / "observability",
            moves,
            settings.certs_dir if settings.mesh_tls else None,
        )
        if settings.clustered:  # every replica and node scraped and probed
            observability.scrape_every_replica(
                configs["prometheus"], settings.replicas, settings.nats_nodes
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
        self,
        group: list[Child],
        name: str,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
    ) -> Child:
        child = Child.start(
            name, args, self.settings.environ if env is None else env, self.settings.log_dir
        )
        group.append(child)
        return child

    def _wait(self, child: Child, check: Check, what: str, deadline: float) -> None:
        wait_ready(child, check, what, deadline, self.children, self.stop)

    def _check_ports_are_free(self) -> None:
        """A port already taken (say by another `make run`) would pass our readiness checks."""
        settings = self.settings
        wanted = {}
        for node in settings.nats_nodes:
            wanted[node.name] = node.client_addr
            if node.route_addr is not None:
                wanted[f"{node.name} routes"] = node.route_addr
            if node.monitor_addr is not None:
                wanted[f"{node.name} monitor"] = node.monitor_addr
        if settings.postgres_addr is not None:
            wanted["postgres"] = settings.postgres_addr
        wanted |= {replica.name: replica.addr for replica in settings.replicas}
        wanted |= {f"{r.name} metrics": r.metrics_addr for r in settings.replicas}
        if settings.tracing:
            wanted |= {
                "jaeger": settings.jaeger_otlp_addr,
                "jaeger query": settings.jaeger_query_addr,
                "victorialogs": settings.victorialogs_addr,
            }
        if settings.observability is not None:
            wanted |= settings.observability.listening()
        taken = {name: address for name, address in wanted.items() if port_open(address)()}
        if taken:
            lines = []
            for name, address in taken.items():
                held = holders(int(address.rpartition(":")[2]))
                lines.append(f"  {address} ({name}): {'; '.join(held) or 'holder not found'}")
            raise StartupError(
                "ports already taken, by another `make run` or one killed before it could stop"
                " its children:\n" + "\n".join(lines) + "\nStop those processes, or choose"
                " other ports with the *_ADDR variables."
            )


def without_missing_parts(settings: Settings) -> Settings:
    """The settings less the optional parts whose tools are not installed: tracing (Jaeger and
    the log store) and the watchers (Prometheus, the blackbox exporter, Alertmanager), each
    missing tool said in one line. The mesh itself (services, NATS) needs no watcher to run."""
    tracing = [name for name in ("jaeger", "victoria-logs") if not (TOOLS / name).is_file()]
    if settings.tracing and tracing:
        for name in tracing:
            say(f"{name} is not in {TOOLS}: running without tracing; `make tools` installs it")
        settings = replace(settings, tracing=False)
    watchers = [name for name in observability.TOOL_NAMES if not (TOOLS / name).is_file()]
    if settings.observability is not None and watchers:
        for name in watchers:
            say(
                f"{name} is not in {TOOLS}: running without metrics and alerts; as root, "
                "`make tools` installs it"
            )
        settings = replace(settings, observability=None)
    return settings


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
