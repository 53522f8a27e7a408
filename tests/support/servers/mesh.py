"""The whole SimpleBank mesh for tests: nats-server and the five services as real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from mesh.health.check import health_channel, is_serving
from mesh.health.service import LIVENESS
from mesh.topology import BY_NAME, NAMES
from tests.support import REPO_ROOT
from tests.support.data.customer import Customer
from tests.support.servers.certs import channel_as, mesh_certs
from tests.support.servers.nats import NatsServer, run_nats
from tests.support.servers.processes import free_port, log_tail, start_process, stop_process

# Started in this order (callees first), so nobody waits on an address nothing listens on yet.
SERVICES = tuple(reversed(NAMES))
START_TIMEOUT_SECONDS = 20.0
PROVISION_TIMEOUT_SECONDS = 60.0  # mesh.events.provision gives NATS as long
SHUTDOWN_GRACE_SECONDS = 1.0
SHUTDOWN_DRAIN_SECONDS = 0.1
# Drain and grace, plus time to stop the rest; a service taking longer is killed.
STOP_TIMEOUT_SECONDS = SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_GRACE_SECONDS + 2.0


@dataclass(frozen=True)
class MeshOptions:
    """The knobs a scenario turns; everything else is the services' defaults."""

    halted_symbols: str = ""
    execution_delay_seconds: float = 0.2
    # Extra variables for one service, e.g. {"accounts": {"NATS_URL": <a proxy>}}.
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Each stateful service's DATABASE_URL (PostgreSQL); empty: SQLite files in the data folder.
    database_urls: Mapping[str, str] = field(default_factory=dict)


class Mesh:
    """Five service processes on free ports over one nats-server and one data folder.

    A service is always started with the same environment, so a restarted one comes back on
    its old address with its old database, as it would in production.
    """

    def __init__(self, root: Path, nats: NatsServer, options: MeshOptions) -> None:
        self.root = root
        self.nats = nats
        self.data_dir = root / "data"
        self.certs_dir = mesh_certs(root)
        self.addrs = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
        self.metrics_addrs = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
        self._options = options
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._replicas: dict[str, dict[str, str]] = {}  # key -> the variables it differs by
        self._gateway = grpc.insecure_channel(self.addrs["gateway"])

    def env(self, name: str) -> dict[str, str]:
        return {
            **{f"{service.upper()}_ADDR": addr for service, addr in self.addrs.items()},
            **{f"{s.upper()}_METRICS_ADDR": addr for s, addr in self.metrics_addrs.items()},
            "NATS_URL": self.nats.url,
            "MESH_CERTS_DIR": str(self.certs_dir),
            "DATA_DIR": str(self.data_dir),
            "MARKET_HALTED_SYMBOLS": self._options.halted_symbols,
            "MARKET_EXECUTION_DELAY_SECONDS": str(self._options.execution_delay_seconds),
            "SHUTDOWN_GRACE_SECONDS": str(SHUTDOWN_GRACE_SECONDS),
            "SHUTDOWN_DRAIN_SECONDS": str(SHUTDOWN_DRAIN_SECONDS),
            "OTEL_TRACES_EXPORTER": "none",
            # The tests' customers are the demo's (alice-token, bob-token), as under `make run`.
            "GATEWAY_DEMO_TOKENS": "allow",
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'generated'}",
            **(
                {"DATABASE_URL": self._options.database_urls[name]}
                if name in self._options.database_urls
                else {}
            ),
            **self._options.service_env.get(name, {}),
        }

    @property
    def databases(self) -> dict[str, Path | str]:
        """Where each stateful service keeps its state: its DATABASE_URL, or its SQLite file."""
        return {
            name: self._options.database_urls.get(name) or self.data_dir / f"{name}.sqlite3"
            for name in SERVICES
            if name != "gateway"
        }

    def customer(self, token: str | None, account_id: str) -> Customer:
        """A client of the public API that sends `authorization: Bearer <token>` (None: none)."""
        authorization = None if token is None else f"Bearer {token}"
        return Customer(self._gateway, authorization, account_id)

    def channel_as(self, identity: str, service: str) -> grpc.Channel:
        """A channel to an internal service presenting `identity`'s certificate."""
        return channel_as(identity, self.certs_dir, self.addrs[service], service)

    def provision(self) -> None:
        """Make the event stream and the services' durables, as `make run` does before the
        services need them: `python -m mesh.events.provision`, as the provisioner identity."""
        log_path = self.log_path("provisioner")
        args = [sys.executable, "-m", "mesh.events.provision"]
        process = start_process(args, self.env("provisioner"), log_path)
        try:
            code = process.wait(PROVISION_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            stop_process(process)
            code = None
        if code != 0:
            pytest.fail(
                f"the provisioner failed (exit code {code})\n{log_tail(log_path)}", pytrace=False
            )

    def start(self, *names: str) -> None:
        """Start services (all when none are named) and wait until each reports SERVING."""
        names = names or SERVICES
        for name in names:
            if self.running(name):
                raise RuntimeError(f"{name} is running already")
            self._processes[name] = self._spawn(name)
        for name in names:
            self._wait_until_serving(name)

    def start_replica(self, name: str) -> str:
        """Another process of `name` on ports of its own, sharing its database (PostgreSQL) and
        its durable consumers; returns its key ("<name>#2", ...) for stop, kill and logs."""
        key = f"{name}#{sum(k.split('#')[0] == name for k in self._processes) + 1}"
        self._replicas[key] = {
            f"{name.upper()}_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
            BY_NAME[name].metrics_variable: f"127.0.0.1:{free_port()}",
        }
        self._processes[key] = self._spawn(key)
        self._wait_until_serving(key)
        return key

    def addr(self, key: str) -> str:
        """Where the process `key` (a service, or one of its replicas) listens."""
        replica = self._replicas.get(key)
        return replica[f"{key.split('#')[0].upper()}_LISTEN_ADDR"] if replica else self.addrs[key]

    def metrics_addr(self, key: str) -> str:
        replica = self._replicas.get(key)
        name = key.split("#")[0]
        return replica[BY_NAME[name].metrics_variable] if replica else self.metrics_addrs[key]

    def stop(self, *names: str) -> None:
        """SIGTERM, the way a deployment stops services (all when none are named); SIGKILL
        whatever has not exited after STOP_TIMEOUT_SECONDS."""
        processes = [self._processes.pop(name) for name in names or SERVICES]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in processes:
            stop_process(process, max(deadline - time.monotonic(), 0.1))

    def kill(self, name: str) -> None:
        """SIGKILL: a crash, with no chance to finish, ack or flush anything."""
        process = self._processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def running(self, name: str) -> bool:
        process = self._processes.get(name)
        return process is not None and process.poll() is None

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return self._processes[name]

    def close(self) -> None:
        self.stop(*list(self._processes))
        self._gateway.close()

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def logs(self, lines: int = 15) -> str:
        """The last lines of every service's log, for assertion messages."""
        keys = [*SERVICES, *self._replicas]
        return "\n".join(f"--- {key}\n{log_tail(self.log_path(key), lines)}" for key in keys)

    def log_lines_with(self, text: str) -> list[str]:
        """Every line any service logged, in any of its runs, that contains `text`."""
        return [
            line
            for path in sorted((self.root / "logs").glob("*.log"))
            for line in path.read_text(errors="replace").splitlines()
            if text in line
        ]

    def _spawn(self, key: str) -> subprocess.Popen[bytes]:
        log_path = self.log_path(key)
        if log_path.exists():  # keep what the earlier run of this service logged
            log_path.rename(log_path.with_suffix(f".{time.monotonic_ns()}.log"))
        name = key.split("#")[0]
        args = [sys.executable, "-m", BY_NAME[name].module]
        return start_process(args, {**self.env(name), **self._replicas.get(key, {})}, log_path)

    def serving(self, key: str) -> bool:
        """Whether the process `key` (a service or a replica) answers health with SERVING."""
        with self._health_channel(key) as channel:
            return is_serving(channel, timeout=1.0)

    def alive(self, key: str) -> bool:
        """Whether the process `key` answers a liveness probe (health's `liveness` service)."""
        with self._health_channel(key) as channel:
            return is_serving(channel, LIVENESS, timeout=1.0)

    def _health_channel(self, key: str) -> grpc.Channel:
        service = key.split("#")[0]
        internal = "" if service == "gateway" else service  # checked as the probe identity
        return health_channel(self.addr(key), internal, self.certs_dir)

    def _wait_until_serving(self, name: str) -> None:
        process = self._processes[name]
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with self._health_channel(name) as channel:
            while time.monotonic() < deadline and process.poll() is None:
                if is_serving(channel, timeout=0.5):  # False while it is not listening yet
                    return
                time.sleep(0.05)
        pytest.fail(
            f"{name} did not become SERVING (exit code {process.poll()})\n"
            f"{log_tail(self.log_path(name))}",
            pytrace=False,
        )


@contextmanager
def mesh_on(nats: NatsServer, root: Path, options: MeshOptions | None = None) -> Iterator[Mesh]:
    """The five services over a running nats-server, all SERVING, until the block ends."""
    mesh = Mesh(root, nats, options or MeshOptions())
    try:
        mesh.provision()
        mesh.start()
        yield mesh
    finally:
        mesh.close()


@contextmanager
def run_mesh(root: Path, options: MeshOptions | None = None) -> Iterator[Mesh]:
    """nats-server and the five services, all SERVING, until the block ends."""
    with run_nats(root, certs_dir=mesh_certs(root)) as nats, mesh_on(nats, root, options) as mesh:
        yield mesh
