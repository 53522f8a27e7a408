"""Faults: checked field by field, rolled with seeded dice, read from OPS_FAULTS at start."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError, Env, ServerConfig
from mesh.errors import kinds
from mesh.faults.in_force import FaultBook
from mesh.faults.settings import Fault

RESERVE = "/simplebank.accounts.v1.AccountService/ReserveHoldings"
EXECUTED = "simplebank.events.OrderExecuted"


def book() -> FaultBook:
    return FaultBook([RESERVE, EXECUTED])


def violations_of(fault: Fault) -> dict[str, str]:
    with pytest.raises(kinds.InvalidArgument) as caught:
        book().set(fault)
    return {v.field: v.description for v in caught.value.violations}


def test_an_unknown_target_status_name_and_percent_are_each_a_field_violation() -> None:
    found = violations_of(Fault("/nope.Service/Nothing", error_code="UNAVAILABLED", percent=101))

    assert found == {
        "fault.target": "unknown target '/nope.Service/Nothing'",
        "fault.error_code": "unknown gRPC status name 'UNAVAILABLED'",
        "fault.percent": "must be between 0 and 100",
    }


def test_ok_is_not_a_status_to_fail_with() -> None:
    assert "fault.error_code" in violations_of(Fault(RESERVE, error_code="OK"))


def test_the_same_seed_hits_the_same_calls() -> None:
    def pattern() -> list[bool]:
        faults = book()
        faults.set(Fault(RESERVE, error_code="UNAVAILABLE", percent=30, seed=7))
        return [faults.hit(RESERVE) is not None for _ in range(200)]

    first = pattern()

    assert first == pattern()
    assert 30 < sum(first) < 90  # about 30% of 200


def test_percent_0_hits_nothing_and_100_hits_everything() -> None:
    faults = book()
    faults.set(Fault(RESERVE, error_code="UNAVAILABLE", percent=0))
    faults.set(Fault(EXECUTED, delay_ms=10, percent=100))

    assert all(faults.hit(RESERVE) is None for _ in range(100))
    assert all(faults.hit(EXECUTED) is not None for _ in range(100))


def test_clearing_one_target_keeps_the_others() -> None:
    faults = book()
    faults.set(Fault(RESERVE, error_code="UNAVAILABLE"))
    faults.set(Fault(EXECUTED, error_code="INTERNAL"))

    assert faults.clear(RESERVE) == 1
    assert [f.target for f in faults.faults()] == [EXECUTED]
    assert faults.clear() == 1
    assert faults.faults() == []


def server_config(environ: dict[str, str]) -> ServerConfig:
    return ServerConfig.from_env("accounts", Env(environ))


def test_faults_are_off_unless_enabled() -> None:
    assert not server_config({}).faults.enabled
    assert server_config({"OPS_FAULTS_ENABLED": "true"}).faults.enabled


def test_faults_set_at_start_are_read_from_ops_faults() -> None:
    raw = f'[{{"target": "{RESERVE}", "error_code": "UNAVAILABLE", "percent": 25, "seed": 3}}]'

    settings = server_config({"OPS_FAULTS_ENABLED": "true", "OPS_FAULTS": raw}).faults

    assert settings.initial == (Fault(RESERVE, error_code="UNAVAILABLE", percent=25, seed=3),)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '{"target": "x"}',
        '[{"percent": 5}]',
        '[{"target": "x", "percent": "5"}]',
        '[{"target": "x", "pecent": 5}]',
    ],
)
def test_malformed_ops_faults_fail_the_start_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^OPS_FAULTS="):
        server_config({"OPS_FAULTS_ENABLED": "true", "OPS_FAULTS": raw})


def test_ops_faults_without_enabling_them_fail_the_start() -> None:
    with pytest.raises(ConfigError, match="OPS_FAULTS is set but OPS_FAULTS_ENABLED is not true"):
        server_config({"OPS_FAULTS": f'[{{"target": "{RESERVE}"}}]'})


def test_a_bad_switch_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^OPS_FAULTS_ENABLED='yes': expected true or false"):
        server_config({"OPS_FAULTS_ENABLED": "yes"})
