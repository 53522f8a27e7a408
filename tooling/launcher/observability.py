"""Prometheus, the blackbox exporter and Alertmanager for `make run`, on loopback.

Their configuration lives in config/; the launcher writes a copy under the data folder with the
addresses of this run (tests move every port), because neither program reads the environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from mesh.config import Env
from mesh.topology import SERVICES
from tooling.launcher.paths import CONFIG, TOOLS
from tooling.launcher.readiness import Check, http_ok
from tooling.launcher.topology import NatsNode, Replica

TOOL_NAMES = ("prometheus", "blackbox_exporter", "alertmanager")

# Each part's variable and the default address config/ is written for.
DEFAULTS = {
    "PROMETHEUS_ADDR": "127.0.0.1:9090",
    "ALERTMANAGER_ADDR": "127.0.0.1:9093",
    "BLACKBOX_ADDR": "127.0.0.1:9115",
    "ALERT_WEBHOOK_ADDR": "127.0.0.1:9095",
    "NATS_MONITOR_ADDR": "127.0.0.1:8222",
    "JAEGER_METRICS_ADDR": "127.0.0.1:8888",
}


@dataclass(frozen=True)
class Observability:
    """Where each part listens in this run, by variable."""

    addrs: Mapping[str, str]

    @classmethod
    def from_env(cls, env: Env) -> Observability:
        """Raises ConfigError, naming the variable, for an address it could not use."""
        return cls({name: env.addr(name, default) for name, default in DEFAULTS.items()})

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.addrs['PROMETHEUS_ADDR']}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{self.addrs['ALERTMANAGER_ADDR']}"

    @property
    def blackbox_url(self) -> str:
        return f"http://{self.addrs['BLACKBOX_ADDR']}"

    @property
    def webhook_addr(self) -> str:
        return self.addrs["ALERT_WEBHOOK_ADDR"]

    def listening(self) -> dict[str, str]:
        """The ports the parts bind, by a name a person recognises (the webhook is ours)."""
        return {
            "prometheus": self.addrs["PROMETHEUS_ADDR"],
            "alertmanager": self.addrs["ALERTMANAGER_ADDR"],
            "blackbox exporter": self.addrs["BLACKBOX_ADDR"],
            "alert webhook": self.webhook_addr,
        }


def rendered(text: str, moves: Mapping[str, str]) -> str:
    """`text` with each default address replaced by this run's, as whole addresses only."""
    if not moves:
        return text
    pattern = re.compile(r"(?<![\d.])(" + "|".join(map(re.escape, moves)) + r")(?!\d)")
    return pattern.sub(lambda match: moves[match.group(1)], text)


def address_moves(
    parts: Observability, service_addrs: Mapping[str, str], metrics_addrs: Mapping[str, str]
) -> dict[str, str]:
    moves = {DEFAULTS[name]: addr for name, addr in parts.addrs.items()}
    for service in SERVICES:
        moves[service.address] = service_addrs[service.name]
        moves[service.metrics_address] = metrics_addrs[service.name]
    return {default: actual for default, actual in moves.items() if default != actual}


def write_configs(
    directory: Path, moves: Mapping[str, str], certs_dir: Path | None = None
) -> dict[str, Path]:
    """This run's copies of config/prometheus and config/alertmanager, rules by absolute path,
    the probe's certificate files (/certs/ in config/, where compose mounts them) in
    `certs_dir`; without it (MESH_TLS off) every heartbeat is plaintext."""
    directory.mkdir(parents=True, exist_ok=True)
    prometheus = (CONFIG / "prometheus" / "prometheus.yml").read_text()
    prometheus = prometheus.replace("- rules/*.yml", f"- {CONFIG / 'prometheus' / 'rules'}/*.yml")
    files = {
        "prometheus": ("prometheus.yml", prometheus),
        "blackbox": ("blackbox.yml", (CONFIG / "prometheus" / "blackbox.yml").read_text()),
        "alertmanager": (
            "alertmanager.yml",
            (CONFIG / "alertmanager" / "alertmanager.yml").read_text(),
        ),
    }
    written = {}
    for part, (name, text) in files.items():
        path = directory / name
        if certs_dir is not None:
            text = text.replace(" /certs/", f" {certs_dir}/")
        else:
            text = text.replace("replacement: grpc_health_mtls", "replacement: grpc_health")
        path.write_text(rendered(text, moves))
        written[part] = path
    return written


def scrape_every_replica(
    path: Path, replicas: Sequence[Replica], nodes: Sequence[NatsNode]
) -> None:
    """Rewrite a written prometheus.yml's targets for a cluster: every replica's metrics and
    heartbeat, each labelled with its service (what the rules group by) and its replica, and
    every NATS node's /healthz. The file loses config/'s comments: it is generated."""
    config = yaml.safe_load(path.read_text())
    targets = {
        "services": [(r.metrics_addr, r.service, r.name) for r in replicas],
        "heartbeat": [(r.addr, r.service, r.name) for r in replicas],
        "nats": [
            (f"http://{n.monitor_addr}/healthz?js-enabled-only=true", "nats", n.name) for n in nodes
        ],
    }
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            job["static_configs"] = [
                {"targets": [target], "labels": {"service": service, "replica": replica}}
                for target, service, replica in targets[job["job_name"]]
            ]
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def commands(
    parts: Observability, configs: Mapping[str, Path], data_dir: Path
) -> dict[str, list[str]]:
    """Each part's command line, in the order to start them: the exporter Prometheus probes
    through, then Alertmanager it sends to, then Prometheus."""
    return {
        "blackbox": [
            str(TOOLS / "blackbox_exporter"),
            f"--config.file={configs['blackbox']}",
            f"--web.listen-address={parts.addrs['BLACKBOX_ADDR']}",
        ],
        "alertmanager": [
            str(TOOLS / "alertmanager"),
            f"--config.file={configs['alertmanager']}",
            f"--storage.path={data_dir / 'alertmanager'}",
            f"--web.listen-address={parts.addrs['ALERTMANAGER_ADDR']}",
            "--cluster.listen-address=",  # no gossip port (it would bind 0.0.0.0:9094)
        ],
        "prometheus": [
            str(TOOLS / "prometheus"),
            f"--config.file={configs['prometheus']}",
            f"--storage.tsdb.path={data_dir / 'prometheus'}",
            f"--web.listen-address={parts.addrs['PROMETHEUS_ADDR']}",
            "--storage.tsdb.retention.time=2d",
        ],
    }


def readiness(parts: Observability) -> dict[str, tuple[Check, str]]:
    return {
        "blackbox": (http_ok(f"{parts.blackbox_url}/-/healthy"), "healthy"),
        "alertmanager": (http_ok(f"{parts.alertmanager_url}/-/ready"), "ready"),
        "prometheus": (http_ok(f"{parts.prometheus_url}/-/ready"), "ready"),
    }
