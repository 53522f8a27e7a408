"""The Jaeger UI wiring: config/jaeger.yaml serves the folder the launcher names in
JAEGER_UI_ASSETS_PATH, and its placeholder page while it names none (as where the jaeger-ui
download is refused)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.support.servers.jaeger import run_jaeger
from tooling.launcher import parts_logs
from tooling.launcher.parts_logs import jaeger_ui_env

pytestmark = pytest.mark.integration

MARKER = "stand-in jaeger-ui 7f3a"


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        text: str = response.read().decode()
        return text


def stand_in_assets(folder: Path) -> Path:
    folder.mkdir()
    (folder / "index.html").write_text(f"<!doctype html><title>{MARKER}</title><p>{MARKER}</p>")
    return folder


def test_jaeger_serves_the_assets_folder_the_launcher_found(tmp_path: Path) -> None:
    assets = stand_in_assets(tmp_path / "jaeger-ui")
    env = jaeger_ui_env({"JAEGER_UI_ASSETS_PATH": str(assets)})
    assert env == {"JAEGER_UI_ASSETS_PATH": str(assets)}

    with run_jaeger(tmp_path, env) as jaeger:
        served = page(f"{jaeger.query_url}/")

    assert MARKER in served


def test_without_assets_jaeger_starts_with_its_placeholder_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder without index.html is not passed on: Jaeger would panic at start on it. (As on
    a machine where `make tools` got no assets: the installed ones are out of reach here.)"""
    empty = tmp_path / "no-ui"
    empty.mkdir()
    monkeypatch.setattr(parts_logs, "JAEGER_UI_ASSETS", tmp_path / "not-installed")
    env = parts_logs.jaeger_ui_env({"JAEGER_UI_ASSETS_PATH": str(empty)})
    assert env == {"JAEGER_UI_ASSETS_PATH": ""}

    with run_jaeger(tmp_path, env) as jaeger:
        served = page(f"{jaeger.query_url}/")

    assert "This is not the Jaeger UI you are looking for" in served
