"""kubectl against the throwaway cluster: the pinned binary, its kubeconfig, errors as failures."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.tools import tool


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: Path
    # What kubectl runs under: for the real node, nsenter into its network namespace.
    prefix: tuple[str, ...] = ()

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        """Run kubectl; a non-zero exit is a failure carrying kubectl's own message."""
        command = [*self.prefix, str(tool("kubectl")), f"--kubeconfig={self.kubeconfig}", *args]
        completed = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            message = completed.stderr.strip() or completed.stdout.strip()
            raise CheckFailed(f"kubectl {' '.join(args)} failed:\n{message}")
        return Result(completed.stdout, completed.stderr)

    def get(self, *args: str) -> list[dict[str, Any]]:
        """The items of `kubectl get ... -o json`."""
        items: list[dict[str, Any]] = json.loads(self.run("get", *args, "-o", "json").stdout)[
            "items"
        ]
        return items


def render(overlay: Path) -> str:
    """The overlay's manifests as kustomize builds them (no cluster needed)."""
    completed = subprocess.run(
        [str(tool("kubectl")), "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise CheckFailed(f"kustomize cannot build {overlay}:\n{completed.stderr.strip()}")
    return completed.stdout
