"""Running `make k8s-check`'s program on the repository's overlays or on a broken copy of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT

CHECK_SECONDS = 900


@dataclass(frozen=True)
class CheckRun:
    returncode: int
    output: str


def run_check(*overlays: Path) -> CheckRun:
    completed = subprocess.run(
        [sys.executable, "-m", "tooling.k8s_check", *map(str, overlays)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=CHECK_SECONDS,
        check=False,
    )
    return CheckRun(completed.returncode, completed.stdout + completed.stderr)


def broken_copy(root: Path, file: str, old: str, new: str) -> Path:
    """deploy/k8s and config/ copied under `root`, `old` replaced once by `new` in `file`
    (relative to deploy/k8s); the copy's local overlay."""
    for folder in ("deploy/k8s", "config"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    path = root / "deploy" / "k8s" / file
    text = path.read_text()
    assert text.count(old) >= 1, f"{file} has no {old!r} to break"
    path.write_text(text.replace(old, new, 1))
    return root / "deploy" / "k8s" / "overlays" / "local"
