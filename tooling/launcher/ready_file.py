"""`make run --ready-file PATH`: where the running mesh is, as JSON, for programs that start it.

The launcher writes it once every child is ready, and again with the new pid whenever it
restarts a child; the benchmark and the end-to-end tests wait for it and read it with the same
class, so the format is written down once. Services are listed by process: `orders`, or
`orders-1`, `orders-2` under `make cluster`; NATS nodes likewise (`nats`, or `nats-1` ...).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

POLL_SECONDS = 0.02


class NotReady(Exception):
    """The launcher exited, or took too long, before writing its ready file."""


class Endpoint(NamedTuple):
    """A service or NATS: where it is called, and its process."""

    address: str
    pid: int


class Jaeger(NamedTuple):
    """Where spans go in and where they are read."""

    otlp_endpoint: str
    query_url: str
    pid: int


@dataclass(frozen=True)
class Ready:
    launcher_pid: int
    startup_seconds: float  # from the launcher's start to every service SERVING
    services: Mapping[str, Endpoint]  # by replica: the service's name, or <service>-<n>
    nats_url: str  # what the services dial: every node
    nats_nodes: Mapping[str, Endpoint]  # by node: its URL and process
    jaeger: Jaeger | None  # None with --no-tracing
    data_dir: Path
    log_dir: Path
    # Prometheus, Alertmanager and the blackbox exporter: their URL and process; none with
    # --no-observability.
    watchers: Mapping[str, Endpoint] = field(default_factory=dict)
    # The log store (VictoriaLogs): its URL and process; None with --no-tracing.
    log_store: Endpoint | None = None
    # PostgreSQL of the launcher's own (make cluster, make run --postgres): host:port, process.
    postgres: Endpoint | None = None

    @property
    def gateway(self) -> str:
        """The (first) gateway replica's address: where a client calls."""
        return self.replicas_of("gateway")[0].address

    def replicas_of(self, service: str) -> list[Endpoint]:
        return [
            endpoint
            for name, endpoint in self.services.items()
            if name == service or name.rpartition("-")[0] == service
        ]

    def address_of(self, service: str) -> str:
        """What a caller dials for `service`: its replicas' addresses, separated by commas."""
        return ",".join(endpoint.address for endpoint in self.replicas_of(service))

    @property
    def nats_pid(self) -> int:
        """The (first) NATS node's process."""
        return next(iter(self.nats_nodes.values())).pid

    @property
    def pids(self) -> dict[str, int]:
        """Every process the launcher started, by name (the launcher itself not included)."""
        pids = {name: endpoint.pid for name, endpoint in self.services.items()}
        pids |= {name: endpoint.pid for name, endpoint in self.nats_nodes.items()}
        if self.postgres is not None:
            pids["postgres"] = self.postgres.pid
        if self.jaeger is not None:
            pids["jaeger"] = self.jaeger.pid
        pids |= {name: endpoint.pid for name, endpoint in self.watchers.items()}
        if self.log_store is not None:
            pids["victorialogs"] = self.log_store.pid
        return pids

    def with_pids(self, pids: Mapping[str, int]) -> Ready:
        """The same mesh after restarts: each named process's new pid."""
        jaeger, log_store = self.jaeger, self.log_store
        if jaeger is not None and "jaeger" in pids:
            jaeger = jaeger._replace(pid=pids["jaeger"])
        if log_store is not None and "victorialogs" in pids:
            log_store = log_store._replace(pid=pids["victorialogs"])
        return replace(
            self,
            services={n: e._replace(pid=pids.get(n, e.pid)) for n, e in self.services.items()},
            nats_nodes={n: e._replace(pid=pids.get(n, e.pid)) for n, e in self.nats_nodes.items()},
            postgres=None
            if self.postgres is None
            else self.postgres._replace(pid=pids.get("postgres", self.postgres.pid)),
            jaeger=jaeger,
            watchers={n: e._replace(pid=pids.get(n, e.pid)) for n, e in self.watchers.items()},
            log_store=log_store,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "launcher_pid": self.launcher_pid,
            "startup_seconds": round(self.startup_seconds, 3),
            "gateway": self.gateway,
            "services": {
                name: {"address": endpoint.address, "pid": endpoint.pid}
                for name, endpoint in self.services.items()
            },
            "nats": {"url": self.nats_url, "pid": self.nats_pid},
            "nats_nodes": {
                name: {"url": endpoint.address, "pid": endpoint.pid}
                for name, endpoint in self.nats_nodes.items()
            },
            "postgres": None
            if self.postgres is None
            else {"address": self.postgres.address, "pid": self.postgres.pid},
            "jaeger": None
            if self.jaeger is None
            else {
                "otlp_endpoint": self.jaeger.otlp_endpoint,
                "query_url": self.jaeger.query_url,
                "pid": self.jaeger.pid,
            },
            "data_dir": str(self.data_dir),
            "log_dir": str(self.log_dir),
            "watchers": {
                name: {"url": endpoint.address, "pid": endpoint.pid}
                for name, endpoint in self.watchers.items()
            },
            "log_store": None
            if self.log_store is None
            else {"url": self.log_store.address, "pid": self.log_store.pid},
        }

    @classmethod
    def from_json(cls, facts: Mapping[str, Any]) -> Ready:
        jaeger, postgres = facts["jaeger"], facts.get("postgres")
        nodes = facts.get("nats_nodes") or {"nats": facts["nats"]}
        return cls(
            launcher_pid=int(facts["launcher_pid"]),
            startup_seconds=float(facts["startup_seconds"]),
            services={
                name: Endpoint(str(entry["address"]), int(entry["pid"]))
                for name, entry in facts["services"].items()
            },
            nats_url=str(facts["nats"]["url"]),
            nats_nodes={
                name: Endpoint(str(entry["url"]), int(entry["pid"]))
                for name, entry in nodes.items()
            },
            postgres=None
            if not postgres
            else Endpoint(str(postgres["address"]), int(postgres["pid"])),
            jaeger=None
            if jaeger is None
            else Jaeger(str(jaeger["otlp_endpoint"]), str(jaeger["query_url"]), int(jaeger["pid"])),
            data_dir=Path(facts["data_dir"]),
            log_dir=Path(facts["log_dir"]),
            watchers={
                name: Endpoint(str(entry["url"]), int(entry["pid"]))
                for name, entry in facts.get("watchers", {}).items()
            },
            log_store=None
            if not facts.get("log_store")
            else Endpoint(str(facts["log_store"]["url"]), int(facts["log_store"]["pid"])),
        )


def write(path: Path, ready: Ready) -> None:
    """Written atomically, so a reader never sees half of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(ready.to_json(), indent=2) + "\n")
    partial.replace(path)


def read(path: Path) -> Ready:
    return Ready.from_json(json.loads(path.read_text()))


def wait_for(path: Path, launcher: subprocess.Popen[bytes], timeout: float) -> Ready:
    """The ready file once `launcher` has written it; NotReady if it exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if launcher.poll() is not None:
            raise NotReady(f"the launcher exited with code {launcher.returncode}")
        if time.monotonic() > deadline:
            raise NotReady(f"the launcher was not ready within {timeout:.0f}s")
        time.sleep(POLL_SECONDS)
    return read(path)
