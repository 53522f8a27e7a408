"""compose.yaml as Docker Compose reads it: `docker-compose config` validates and normalises it."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
COMPOSE_BINARY = REPO_ROOT / ".tools" / "bin" / "docker-compose"
INSTALL_HINT = "run `tooling/sh/install-tools.sh docker-compose` (builds the pinned Compose CLI)"


@dataclass(frozen=True)
class ComposeResult:
    returncode: int
    stdout: str
    stderr: str


def run_compose(*args: str) -> ComposeResult:
    """Run the pinned Compose CLI on compose.yaml; no Docker engine is needed for `config`."""
    if not COMPOSE_BINARY.exists():
        pytest.fail(f"{COMPOSE_BINARY} is missing: {INSTALL_HINT}", pytrace=False)
    # A developer's COMPOSE_FILE, COMPOSE_PROFILES or COMPOSE_PROJECT_NAME must not change
    # what the tests read.
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMPOSE_")}
    command = [str(COMPOSE_BINARY), "--file", str(COMPOSE_FILE), "--project-directory"]
    completed = subprocess.run(
        [*command, str(REPO_ROOT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return ComposeResult(completed.returncode, completed.stdout, completed.stderr)


@functools.cache
def compose_model() -> dict[str, Any]:
    """The whole project after validation, anchors merged and short syntax expanded."""
    result = run_compose("config", "--format", "json")
    if result.returncode != 0:
        pytest.fail(f"docker-compose config rejects compose.yaml:\n{result.stderr}", pytrace=False)
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose_model()["services"]
    return services


def app_services() -> dict[str, dict[str, Any]]:
    """The services built from the project's Dockerfile, by compose name."""
    return {name: spec for name, spec in compose_services().items() if "build" in spec}


def config_file(name: str) -> Path:
    """The file behind a top-level `configs:` entry."""
    return Path(compose_model()["configs"][name]["file"])


def environment(spec: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = spec.get("environment") or {}
    return env


def memory_limit(spec: dict[str, Any]) -> str | None:
    """mem_limit, or deploy.resources.limits.memory: either form limits the container."""
    limits = spec.get("deploy", {}).get("resources", {}).get("limits", {})
    limit: str | None = spec.get("mem_limit") or limits.get("memory")
    return limit


def published_ports(spec: dict[str, Any]) -> set[tuple[str, str, int]]:
    """(host ip, published port, container port) of every port the service publishes."""
    return {
        (port.get("host_ip", ""), str(port.get("published", "")), int(port["target"]))
        for port in spec.get("ports") or []
    }
