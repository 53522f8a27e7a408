"""`make run` with a setting it cannot use: one clear line, a failed exit, nothing left running."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers.processes import log_tail, start_process, stop_process
from tooling.harness.leftovers import busy_ports, processes_mentioning
from tooling.harness.ports import mesh_on_free_ports
from tooling.launcher.paths import REPO_ROOT, TOOLS

pytestmark = pytest.mark.e2e

# make run must give up at once; a launcher that does not would run until killed.
EXIT_TIMEOUT_SECONDS = 30.0
MAKES_OWN_LINE = re.compile(r"^make(\[\d+\])?: ")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The run's data folder; whatever still uses it at the end is killed, so a failing test
    leaves nothing behind (every process make run starts inherits DATA_DIR)."""
    folder = tmp_path / "data"
    yield folder
    for found in processes_mentioning(str(folder)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(found.partition(":")[0]), signal.SIGKILL)


def make_run(env: dict[str, str], output: Path) -> int:
    """`make run` from the repository with `env` added, as typed in a shell; its exit code."""
    path = f"{TOOLS}{os.pathsep}{os.environ['PATH']}"
    make = start_process(["make", "-C", str(REPO_ROOT), "run"], {**env, "PATH": path}, output)
    try:
        return make.wait(EXIT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        stop_process(make)
        pytest.fail(f"make run still runs after {EXIT_TIMEOUT_SECONDS}s:\n{log_tail(output)}")


def launcher_lines(output: str) -> list[str]:
    """What the launcher printed: the lines after make echoes the command that starts it
    (before it come `make tools`' lines), less make's own report of the failure."""
    lines = output.splitlines()
    started = next(i for i, line in enumerate(lines) if " tooling/run.py" in line)
    return [line for line in lines[started + 1 :] if not MAKES_OWN_LINE.match(line)]


def test_a_shutdown_grace_that_is_not_a_number_stops_make_run_in_one_line_leaving_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    ports = mesh_on_free_ports()
    output = tmp_path / "make-run.log"

    code = make_run({**ports, "DATA_DIR": str(data_dir), "SHUTDOWN_GRACE_SECONDS": "abc"}, output)

    said = output.read_text(errors="replace")
    assert code != 0, said
    assert launcher_lines(said) == [
        "make run: configuration error: SHUTDOWN_GRACE_SECONDS='abc': expected a number, e.g. 5.0"
    ], said
    assert not processes_mentioning(str(data_dir))
    assert not busy_ports(ports)
