"""The log store and the Jaeger UI assets for `make run`: VictoriaLogs' command line, the variable
that points services at it, and the Jaeger UI folder when `make tools` could download it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tooling.launcher.paths import REPO_ROOT, TOOLS

DEFAULT_VICTORIALOGS_ADDR = "127.0.0.1:9428"
OTLP_LOGS_PATH = "/insert/opentelemetry/v1/logs"
UI_PATH = "/select/vmui/"
# VictoriaLogs sizes its caches from the machine's memory (60% by default); the mesh's logs
# need little.
MEMORY_ALLOWED_PERCENT = 5
RETENTION = "7d"
JAEGER_UI_ASSETS = REPO_ROOT / ".tools" / "jaeger-ui"


def victorialogs_command(data_dir: Path, addr: str) -> list[str]:
    """VictoriaLogs on `addr` (loopback), its data in <data_dir>/victorialogs."""
    return [
        str(TOOLS / "victoria-logs"),
        f"-httpListenAddr={addr}",
        f"-storageDataPath={data_dir / 'victorialogs'}",
        f"-memory.allowedPercent={MEMORY_ALLOWED_PERCENT}",
        f"-retentionPeriod={RETENTION}",
        "-loggerLevel=WARN",
    ]


def victorialogs_ready_url(addr: str) -> str:
    """Answers 200 "OK" once the store takes records."""
    return f"http://{addr}/health"


def log_shipping_env(addr: str) -> dict[str, str]:
    """Added to each service's environment: where tracing/log_shipping.py sends records."""
    return {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"http://{addr}{OTLP_LOGS_PATH}"}


def victorialogs_ui_url(addr: str) -> str:
    return f"http://{addr}{UI_PATH}"


def jaeger_ui_env(environ: Mapping[str, str]) -> dict[str, str]:
    """JAEGER_UI_ASSETS_PATH for config/jaeger.yaml, only where an index.html is: Jaeger panics
    at start on a folder that is not there, and serves its placeholder page when it is unset.

    The caller's own JAEGER_UI_ASSETS_PATH wins, else the assets `make tools` downloaded.
    """
    for folder in (environ.get("JAEGER_UI_ASSETS_PATH", ""), str(JAEGER_UI_ASSETS)):
        if folder and (Path(folder) / "index.html").is_file():
            return {"JAEGER_UI_ASSETS_PATH": str(Path(folder).resolve())}
    return {"JAEGER_UI_ASSETS_PATH": ""}
