"""Where `make run` finds the checkout, its config and the tools `make tools` linked."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / ".tools" / "bin"
CONFIG = REPO_ROOT / "config"
