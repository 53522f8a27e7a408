"""`make run` leaves out what it cannot start: a watcher or tracing whose tool is missing is
named in one line and the mesh starts without it; NATS stays required."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.launcher import supervisor
from tooling.launcher.observability import TOOL_NAMES
from tooling.launcher.readiness import StartupError
from tooling.launcher.settings import Settings, load_settings


def settings() -> Settings:
    """`make run`'s settings: tracing and the watchers on."""
    return load_settings(Path("/tmp/mesh-data"), True, 30.0, None, {})


def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        (tmp_path / name).write_text("")
    monkeypatch.setattr(supervisor, "TOOLS", tmp_path)


def test_with_every_tool_nothing_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed(tmp_path, monkeypatch, "nats-server", "jaeger", "victoria-logs", *TOOL_NAMES)

    kept = supervisor.without_missing_parts(settings())

    assert kept == settings()
    assert capsys.readouterr().out == ""


def test_a_missing_watcher_leaves_out_the_watchers_with_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed(tmp_path, monkeypatch, "nats-server", "jaeger", "victoria-logs", "alertmanager")

    kept = supervisor.without_missing_parts(settings())

    assert kept.observability is None
    assert kept.tracing
    said = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in said] == ["prometheus", "blackbox_exporter"]
    assert all("make tools" in line for line in said)


def test_a_missing_jaeger_leaves_out_tracing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed(tmp_path, monkeypatch, "nats-server", "victoria-logs", *TOOL_NAMES)

    kept = supervisor.without_missing_parts(settings())

    assert not kept.tracing
    assert kept.observability is not None
    assert "jaeger is not in" in capsys.readouterr().out


def test_nats_stays_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed(tmp_path, monkeypatch)

    with pytest.raises(StartupError, match="nats-server missing"):
        supervisor.require_tools(["nats-server"])
