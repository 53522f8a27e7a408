"""Commands run as a user runs them: from the repository, with `make tools`' .tools/bin on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools.grpcurl import identity_flags, require_grpcurl
from tooling.launcher.paths import REPO_ROOT, TOOLS

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Ran:
    returncode: int
    output: str  # stdout and stderr interleaved, as a terminal shows them


def run(
    args: list[str], env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_SECONDS
) -> Ran:
    """Run `args` in the repository with .tools/bin first on PATH; `env` adds variables."""
    environ = {**os.environ, **(env or {}), "PATH": f"{TOOLS}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        args,
        cwd=REPO_ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    return Ran(done.returncode, done.stdout.decode(errors="replace"))


def shell(command: str) -> Ran:
    """A command line, pipes and loops included, as typed into bash."""
    return run(["bash", "-c", command])


def python(script: str, *args: str, env: Mapping[str, str] | None = None) -> Ran:
    """One of the repository's scripts, with this virtual environment's Python (as make does)."""
    return run([sys.executable, str(REPO_ROOT / script), *args], env)


def grpcurl(*args: str) -> Ran:
    """The real grpcurl, plaintext (the gateway's public port)."""
    return run([str(require_grpcurl()), "-plaintext", *args])


def grpcurl_as_operator(certs_dir: Path, *args: str) -> Ran:
    """The real grpcurl with the operator's certificate: what internal services take."""
    return run([str(require_grpcurl()), *identity_flags(certs_dir, "operator"), *args])
