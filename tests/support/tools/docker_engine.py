"""A Docker engine and the compose images for tests, through the scripts `make up` uses."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

ENGINE_SCRIPT = REPO_ROOT / "tooling" / "sh" / "docker-engine.sh"
IMAGES_SCRIPT = REPO_ROOT / "tooling" / "sh" / "docker-images.sh"
SKIP_VARIABLE = "SIMPLEBANK_SKIP_DOCKER"
# Installing the engine, or making the base image on a busy machine, takes minutes.
ENGINE_TIMEOUT_SECONDS = 300.0
IMAGES_TIMEOUT_SECONDS = 900.0


def skip_unless_docker_wanted() -> None:
    """Skip only when the user says so; a missing engine is a failure, not a skip."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the containers are not run")


def exports(output: str) -> dict[str, str]:
    """The variables of `export NAME=value` lines, as the scripts print them."""
    found = {}
    for line in output.splitlines():
        name, separator, value = line.removeprefix("export ").partition("=")
        if line.startswith("export ") and separator:
            found[name] = value
    return found


def run_script(script: Path, args: list[str], env: Mapping[str, str], timeout: float) -> str:
    """The script's stdout; the test fails with its messages if it fails."""
    try:
        done = subprocess.run(
            [str(script), *args],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script.name} {' '.join(args)} took over {timeout:.0f} s", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{script.name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}",
            pytrace=False,
        )
    print(done.stderr, end="")  # what was prepared, and how long it took (pytest -rA shows it)
    return done.stdout


@contextmanager
def docker_engine() -> Iterator[dict[str, str]]:
    """DOCKER_HOST of an engine that answers; one this started is stopped at the end."""
    found = exports(run_script(ENGINE_SCRIPT, ["start"], {}, ENGINE_TIMEOUT_SECONDS))
    started = found.pop("SIMPLEBANK_DOCKER_STARTED", "") == "1"
    try:
        yield found
    finally:
        if started:
            run_script(ENGINE_SCRIPT, ["stop"], found, ENGINE_TIMEOUT_SECONDS)


def compose_images(engine: Mapping[str, str]) -> dict[str, str]:
    """Build the service image once (and stand-ins where needed): the variables for compose."""
    return exports(run_script(IMAGES_SCRIPT, [], engine, IMAGES_TIMEOUT_SECONDS))
