"""Unit tests for the process shell: how a service that cannot start says why."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from mesh.config import ConfigError, Env
from mesh.process import run
from mesh.server import Service


def failing_with(error: Exception) -> Callable[[Env], Service]:
    """A composition root that raises `error` instead of building the service."""

    def build(env: Env) -> Service:
        raise error

    return build


def exit_code_of_running(build: Callable[[Env], Service]) -> object:
    with pytest.raises(SystemExit) as exited:
        run("fees", build)
    return exited.value.code


def test_a_service_with_bad_config_exits_2_with_the_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = ConfigError("FEES_BASIS_POINTS='ten': expected a whole number, e.g. 10")

    assert exit_code_of_running(failing_with(bad)) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "fees: configuration error: FEES_BASIS_POINTS='ten': expected a whole number, e.g. 10\n"
    )


def test_a_service_that_cannot_listen_exits_1_with_one_line_and_logs_the_traceback(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    taken = OSError("cannot listen on 127.0.0.1:50054: Failed to bind")

    assert exit_code_of_running(failing_with(taken)) == 1
    assert capsys.readouterr().err == "fees: cannot listen on 127.0.0.1:50054: Failed to bind\n"
    logged = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[1] is taken


def test_a_value_error_is_not_called_a_configuration_error_and_keeps_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ValueError, match="a fee must not be negative"):
        run("fees", failing_with(ValueError("a fee must not be negative, got -1")))

    assert "configuration error" not in capsys.readouterr().err
