"""The lock files pin every package by version and by the sha256 of its files, and every install
from them (the Makefile's venv, the Dockerfile) insists on the hashes and resolves nothing."""

from __future__ import annotations

import re

import pytest

from tests.support import REPO_ROOT

LOCKS = ("requirements.lock", "requirements-dev.lock")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(\[[a-z0-9,\-]+\])?==\S+$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def requirements(name: str) -> list[list[str]]:
    """Each requirement with its options, continuation lines joined."""
    text = (REPO_ROOT / name).read_text().replace("\\\n", " ")
    lines = [line.split() for line in text.splitlines()]
    return [words for words in lines if words and not words[0].startswith(("#", "-r"))]


@pytest.mark.parametrize("name", LOCKS)
def test_every_requirement_is_pinned_with_hashes(name: str) -> None:
    unhashed = []
    for pin, *options in requirements(name):
        assert PIN.match(pin), f"{name}: {pin} is not pinned to one version"
        if not options or not all(HASH.match(option) for option in options):
            unhashed.append(pin)
    assert not unhashed, f"{name}: no sha256 for {unhashed}"


def test_the_dev_lock_builds_on_the_runtime_lock() -> None:
    assert "-r requirements.lock" in (REPO_ROOT / "requirements-dev.lock").read_text().splitlines()


@pytest.mark.parametrize("path", ["Makefile", "Dockerfile"])
def test_every_install_from_a_lock_file_requires_hashes_and_resolves_nothing(path: str) -> None:
    installs = [
        line
        for line in (REPO_ROOT / path).read_text().splitlines()
        if "pip install" in line and "requirements" in line
    ]
    assert installs, f"{path} installs no lock file"
    for line in installs:
        assert "--require-hashes" in line, line
        assert "--no-deps" in line, line
