"""Helpers the tests share, by what they support: servers/, data/ and tools/."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
