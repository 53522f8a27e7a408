"""A real Jaeger for tests (config/jaeger.yaml on free ports) and reading traces back from it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT
from tests.support.servers.processes import (
    free_port,
    log_tail,
    start_process,
    stop_process,
    wait_for_http,
)

JAEGER_BINARY = REPO_ROOT / ".tools" / "bin" / "jaeger"
JAEGER_CONFIG = REPO_ROOT / "config" / "jaeger.yaml"
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class JaegerInstance:
    otlp_endpoint: str  # for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:43817
    query_url: str  # the query API and UI, e.g. http://127.0.0.1:46686
    pid: int
    log_path: Path


@contextmanager
def run_jaeger(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[JaegerInstance]:
    """Run Jaeger on free 127.0.0.1 ports until the block ends, `extra_env` added to its own."""
    if not JAEGER_BINARY.exists():
        pytest.fail(f"{JAEGER_BINARY} is missing: run `make tools` first", pytrace=False)
    otlp_grpc, query_http = _address(), _address()
    env = {
        "JAEGER_OTLP_GRPC_ADDR": otlp_grpc,
        "JAEGER_OTLP_HTTP_ADDR": _address(),
        "JAEGER_QUERY_ADDR": query_http,
        "JAEGER_QUERY_GRPC_ADDR": _address(),
        "JAEGER_HEALTH_ADDR": _address(),
        "JAEGER_METRICS_PORT": str(free_port()),
        **(extra_env or {}),
    }
    log_path = tmp_path / "jaeger.log"
    args = [str(JAEGER_BINARY), f"--config=file:{JAEGER_CONFIG}"]
    process = start_process(args, env, log_path)
    instance = JaegerInstance(f"http://{otlp_grpc}", f"http://{query_http}", process.pid, log_path)
    try:
        try:
            wait_for_http(f"{instance.query_url}/api/services", START_TIMEOUT_SECONDS, process)
        except (TimeoutError, RuntimeError) as error:
            pytest.fail(f"Jaeger did not start: {error}\n{log_tail(log_path)}", pytrace=False)
        yield instance
    finally:
        stop_process(process)


def fetch_trace(query_url: str, trace_id: str) -> dict[str, Any] | None:
    """One trace as Jaeger's /api/traces/<id> returns it (data[0]), or None if Jaeger has none."""
    try:
        body = _get_json(f"{query_url}/api/traces/{trace_id}")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise
    traces: list[dict[str, Any]] = body.get("data") or []
    return traces[0] if traces else None


def fetch_services(query_url: str) -> list[str]:
    """The service names Jaeger has seen spans from."""
    services: list[str] = _get_json(f"{query_url}/api/services").get("data") or []
    return services


def wait_for_trace(
    query_url: str, trace_id: str, timeout: float, min_spans: int = 1
) -> dict[str, Any]:
    """Poll until the trace has `min_spans` spans or more (exporters batch: spans come late)."""
    deadline = time.monotonic() + timeout
    while True:
        trace = fetch_trace(query_url, trace_id)
        if trace is not None and len(trace["spans"]) >= min_spans:
            return trace
        if time.monotonic() >= deadline:
            found = 0 if trace is None else len(trace["spans"])
            raise TimeoutError(f"trace {trace_id}: {found} of {min_spans} spans after {timeout}s")
        time.sleep(0.1)


def _address() -> str:
    return f"127.0.0.1:{free_port()}"


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: dict[str, Any] = json.load(response)
        return body
