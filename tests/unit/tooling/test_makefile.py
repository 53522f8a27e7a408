"""`make help` lists every target of the Makefile, in sections, with `run`, `demo` and `trace`
first, as a newcomer reads them."""

from __future__ import annotations

import re
import subprocess

from tests.support import REPO_ROOT

TARGET = re.compile(r"^([a-zA-Z0-9_-]+):", re.MULTILINE)


def help_text() -> str:
    ran = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout)


def listed(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line.startswith("  ")]


def test_help_lists_every_target() -> None:
    targets = set(TARGET.findall((REPO_ROOT / "Makefile").read_text()))

    assert targets - set(listed(help_text())) == set()


def test_the_first_targets_are_the_ones_to_try() -> None:
    assert listed(help_text())[:3] == ["run", "demo", "trace"]


def test_targets_come_in_sections() -> None:
    sections = [line for line in help_text().splitlines() if line and not line.startswith(" ")]

    assert len(sections) >= 4, sections
