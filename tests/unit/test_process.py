"""Unit tests for the process shell: how a service that cannot start says why."""

from __future__ import annotations

import logging

import pytest

from mesh.config import ConfigError, Env
from mesh.process import run
from mesh.server import Service


def test_a_service_with_bad_config_exits_2_with_the_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def build(env: Env) -> Service:
        raise ConfigError("FEES_BASIS_POINTS='ten': expected a whole number, e.g. 10")

    with pytest.raises(SystemExit) as exited:
        run("fees", build)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert (
        err
        == "fees: configuration error: FEES_BASIS_POINTS='ten': expected a whole number, e.g. 10\n"
    )


def test_a_service_that_cannot_listen_exits_1_with_one_line_and_logs_the_traceback(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    def build(env: Env) -> Service:
        raise OSError("cannot listen on 127.0.0.1:50054: Failed to bind")

    with pytest.raises(SystemExit) as exited:
        run("fees", build)

    assert exited.value.code == 1
    assert capsys.readouterr().err == "fees: cannot listen on 127.0.0.1:50054: Failed to bind\n"
    logged = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], OSError)


def test_a_value_error_is_not_called_a_configuration_error_and_keeps_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def build(env: Env) -> Service:
        raise ValueError("a fee must not be negative, got -1")

    with pytest.raises(ValueError, match="a fee must not be negative"):
        run("fees", build)

    assert "configuration error" not in capsys.readouterr().err
