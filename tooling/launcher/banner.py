"""What `make run` tells a person once the mesh is up, and the same facts as JSON for tests."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from tooling.launcher import parts_logs
from tooling.launcher.children import Child
from tooling.launcher.ready_file import Endpoint, Jaeger, Ready
from tooling.launcher.settings import Settings

FIRST_CALL = (
    ".tools/bin/grpcurl -plaintext -H 'authorization: Bearer alice-token' "
    """-d '{"account_id":"acc-alice"}' %s simplebank.gateway.v1.GatewayService/GetPortfolio"""
)


def banner(settings: Settings, children: list[Child], seconds: float) -> str:
    pids = {child.name: child.pid for child in children}
    shape = " (cluster: replicas share PostgreSQL, NATS is 3 nodes)" if settings.clustered else ""
    lines = [f"SimpleBank mesh is up{shape} (started in {seconds:.1f}s)", ""]
    for replica in settings.replicas:
        lines.append(f"  {replica.name:<10} {replica.addr:<22} pid {pids[replica.name]}")
    scheme = "tls" if settings.mesh_tls else "nats"
    for node in settings.nats_nodes:
        url = f"{scheme}://{node.client_addr}"
        lines.append(f"  {node.name:<10} {url:<22} pid {pids[node.name]}")
    if settings.postgres_addr is not None:
        lines += [
            f"  {'postgres':<10} {settings.postgres_addr:<22} pid {pids['postgres']}",
            f"             a database and role per service: {_shown(settings.data_dir)}"
            "/postgres/database-urls.json",
        ]
    if settings.tracing:
        lines += [
            f"  {'jaeger':<10} {settings.query_url:<22} pid {pids['jaeger']}",
            f"             API: {settings.query_url}/api/services, "
            f"{settings.query_url}/api/traces/<trace-id>",
            f"             spans in: OTLP gRPC {settings.jaeger_otlp_addr}",
        ]
        if not parts_logs.jaeger_ui_env(settings.environ)["JAEGER_UI_ASSETS_PATH"]:
            lines.append(
                "             its UI is a placeholder (no jaeger-ui assets): make trace ID=<id>"
            )
        lines += [
            f"  {'log store':<10} {parts_logs.victorialogs_ui_url(settings.victorialogs_addr):<22}"
            f" pid {pids['victorialogs']}",
            "             make logs (SERVICE=, LEVEL=, TRACE=<trace-id>); LogsQL: "
            f"http://{settings.victorialogs_addr}/select/logsql/query",
        ]
    else:
        lines.append("  tracing is off (--no-tracing)")
    parts = settings.observability
    if parts is not None:
        lines += [
            f"  {'prometheus':<10} {parts.prometheus_url:<22} pid {pids['prometheus']}",
            f"             alerts: {parts.prometheus_url}/alerts, "
            f"graphs: {parts.prometheus_url}/graph",
            f"  {'alerts':<10} {parts.alertmanager_url:<22} pid {pids['alertmanager']}"
            "   (firing and resolved alerts are also printed here)",
            f"  {'heartbeat':<10} {parts.blackbox_url:<22} pid {pids['blackbox']}",
            "  metrics    "
            + ", ".join(f"http://{r.metrics_addr}/metrics" for r in settings.replicas),
        ]
    else:
        lines.append("  metrics, heartbeats and alerts are off (--no-observability)")
    lines += [
        "",
        f"  logs  {_shown(settings.log_dir)}/<name>.log",
        f"  data  {_shown(settings.data_dir)}",
        "",
        "Try:",
        "  " + FIRST_CALL % settings.replicas_of("gateway")[0].addr,
        "  make trace ID=<trace-id>    (the x-trace-id trailer of `grpcurl -v`)",
        "  make logs TRACE=<trace-id>",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def ready_facts(settings: Settings, children: list[Child], seconds: float) -> Ready:
    """What the ready file says: the same addresses and pids as the banner."""
    pids = {child.name: child.pid for child in children}
    return Ready(
        launcher_pid=os.getpid(),
        startup_seconds=seconds,
        services={r.name: Endpoint(r.addr, pids[r.name]) for r in settings.replicas},
        nats_url=settings.services_nats_url,
        nats_nodes={
            node.name: Endpoint(url, pids[node.name])
            for node, url in zip(
                settings.nats_nodes, settings.services_nats_url.split(","), strict=True
            )
        },
        postgres=None
        if settings.postgres_addr is None
        else Endpoint(settings.postgres_addr, pids["postgres"]),
        jaeger=Jaeger(f"http://{settings.jaeger_otlp_addr}", settings.query_url, pids["jaeger"])
        if settings.tracing
        else None,
        data_dir=settings.data_dir,
        log_dir=settings.log_dir,
        log_store=Endpoint(f"http://{settings.victorialogs_addr}", pids["victorialogs"])
        if settings.tracing
        else None,
        watchers={}
        if settings.observability is None
        else {
            "prometheus": Endpoint(settings.observability.prometheus_url, pids["prometheus"]),
            "alertmanager": Endpoint(settings.observability.alertmanager_url, pids["alertmanager"]),
            "blackbox": Endpoint(settings.observability.blackbox_url, pids["blackbox"]),
        },
    )


def _shown(path: Path) -> str:
    """Relative to the current folder when inside it: shorter, and what a person would type."""
    cwd = Path.cwd()
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def say(text: str, error: bool = False) -> None:
    """Print, unless the terminal is gone (closed window, `| head`): stopping matters more."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr if error else sys.stdout, flush=True)
