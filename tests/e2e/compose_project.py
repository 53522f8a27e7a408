"""One run of compose.yaml under its own project name, its published ports moved to free ones."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT
from tests.support.servers.processes import free_port
from tests.support.tools.compose import COMPOSE_BINARY, COMPOSE_FILE, compose_services

COMMAND_TIMEOUT_SECONDS = 120.0
WAIT_TIMEOUT_SECONDS = 180  # `up --wait`: every container healthy
PROJECT_LABEL = "com.docker.compose.project"


@dataclass(frozen=True)
class Published:
    """Where the test reaches a container port: 127.0.0.1 and a free port of this run."""

    service: str
    target: int
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def moved_ports() -> list[Published]:
    """A free loopback port for every port compose.yaml publishes, whoever added it."""
    return [
        Published(name, int(port["target"]), free_port())
        for name, spec in sorted(compose_services().items())
        for port in spec.get("ports") or []
    ]


def override_yaml(ports: list[Published]) -> str:
    """A compose file that replaces (`!override`) each service's published ports."""
    lines = ["services:"]
    for service in sorted({published.service for published in ports}):
        lines += [f"  {service}:", "    ports: !override"]
        lines += [
            f'      - "{published.address}:{published.target}"'
            for published in ports
            if published.service == service
        ]
    return "\n".join(lines) + "\n"


@dataclass
class ComposeProject:
    """`docker compose -p <unique name> -f compose.yaml -f <override>` against one engine."""

    folder: Path
    env: Mapping[str, str]  # DOCKER_HOST and the image variables
    name: str = field(default_factory=lambda: f"simplebank-test-{uuid.uuid4().hex[:8]}")
    ports: list[Published] = field(default_factory=moved_ports)

    def __post_init__(self) -> None:
        self.override = self.folder / "compose.override.yaml"
        self.override.write_text(override_yaml(self.ports))

    def published(self, service: str, target: int) -> str:
        [found] = [p for p in self.ports if (p.service, p.target) == (service, target)]
        return found.address

    def compose(self, *args: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
        files = ["--file", str(COMPOSE_FILE), "--file", str(self.override)]
        command = [str(COMPOSE_BINARY), "--project-name", self.name, *files, *args]
        return self._run(command, timeout)

    def docker(self, *args: str) -> str:
        return self._run(["docker", *args], COMMAND_TIMEOUT_SECONDS)

    def up(self) -> str:
        """Start every container from the images already built, and wait until all are healthy."""
        wait = ["--wait", "--wait-timeout", str(WAIT_TIMEOUT_SECONDS)]
        return self.compose(
            "up", "--detach", "--no-build", *wait, timeout=WAIT_TIMEOUT_SECONDS + 60
        )

    def containers(self) -> dict[str, dict[str, Any]]:
        """`docker inspect` of every container of the project, by compose service."""
        ids = self.docker(
            "ps", "--all", "--quiet", "--filter", f"label={PROJECT_LABEL}={self.name}"
        )
        if not ids.split():
            return {}
        found: list[dict[str, Any]] = json.loads(self.docker("inspect", *ids.split()))
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in found}

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes of the project the engine still has."""
        label = f"label={PROJECT_LABEL}={self.name}"
        return {
            "containers": self.docker("ps", "--all", "--quiet", "--filter", label).split(),
            "networks": self.docker("network", "ls", "--quiet", "--filter", label).split(),
            "volumes": self.docker("volume", "ls", "--quiet", "--filter", label).split(),
        }

    def down(self) -> str:
        return self.compose("down", "--volumes", "--timeout", "10")

    def _run(self, command: list[str], timeout: float) -> str:
        # A developer's COMPOSE_FILE or COMPOSE_PROJECT_NAME must not change what runs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        try:
            done = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env={**env, **self.env},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            pytest.fail(f"{' '.join(command[:6])} ... took over {timeout:.0f} s: {expired}")
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout
