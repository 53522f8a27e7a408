"""Every `make` command the README, CONTRIBUTING.md and docs/*.md show runs as written: make
knows its target and takes its variables (`make -n`, which runs nothing), and each option handed
through RUN_FLAGS, BENCH_FLAGS, PROFILE_FLAGS or CHAOS_FLAGS is one the program takes."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache

import pytest

from tests.support import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", REPO_ROOT / "CONTRIBUTING.md", *(REPO_ROOT / "docs").glob("*.md")]
SHELL_BLOCKS = ("", "sh", "bash", "console")
# The program each FLAGS variable hands its options to.
PROGRAMS = {
    "RUN_FLAGS": ["tooling/run.py"],
    "BENCH_FLAGS": ["-m", "tooling.bench"],
    "PROFILE_FLAGS": ["-m", "tooling.bench.profile"],
    "CHAOS_FLAGS": ["-m", "tooling.chaos"],
}


def shell_lines(text: str) -> list[str]:
    """The lines inside the page's shell code blocks (``` or ```sh), fence by fence."""
    lines, language = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            language = line[3:].strip() if language is None else None
        elif language in SHELL_BLOCKS:
            lines.append(line)
    return lines


def make_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for line in shell_lines(page.read_text()):
            command = line.split("  #")[0].split(" # ")[0].strip()
            if command.startswith("make "):
                found.append((f"{page.relative_to(REPO_ROOT)}: {command}", command))
    return found


COMMANDS = make_commands()


def test_the_pages_show_make_commands() -> None:
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_make_takes_the_command_as_written(where: str, command: str) -> None:
    dry = subprocess.run(
        ["make", "-n", *shlex.split(command)[1:]],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, f"{where}\n{dry.stderr[-1500:]}"


@cache
def help_of(variable: str) -> str:
    ran = subprocess.run(
        [sys.executable, *PROGRAMS[variable], "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


FLAGGED = [
    (where, variable, option)
    for where, command in COMMANDS
    for word in shlex.split(command)[1:]
    if (variable := word.partition("=")[0]) in PROGRAMS
    for option in shlex.split(word.partition("=")[2])
    if option.startswith("--")
]


@pytest.mark.parametrize(("where", "variable", "option"), FLAGGED)
def test_each_option_handed_through_is_one_the_program_takes(
    where: str, variable: str, option: str
) -> None:
    assert re.search(rf"(?<![\w-]){re.escape(option)}\b", help_of(variable)), (
        f"{where}: {option} is not an option of {' '.join(PROGRAMS[variable])}"
    )
