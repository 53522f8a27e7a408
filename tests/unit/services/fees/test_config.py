"""Unit tests for the fees configuration: the fee schedule from the environment."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError, Env
from services.fees.config import FeesConfig
from services.fees.domain import FeeSchedule


def config(**environ: str) -> FeesConfig:
    return FeesConfig.from_env(Env(environ))


def test_the_default_schedule_is_one_dollar_plus_ten_basis_points() -> None:
    assert config().schedule == FeeSchedule(flat=100, basis_points=10)


def test_the_schedule_is_read_from_the_environment() -> None:
    schedule = config(FEES_FLAT_MINOR_UNITS="0", FEES_BASIS_POINTS="25").schedule

    assert schedule == FeeSchedule(flat=0, basis_points=25)


@pytest.mark.parametrize("name", ["FEES_FLAT_MINOR_UNITS", "FEES_BASIS_POINTS"])
@pytest.mark.parametrize("value", ["-1", "ten"])
def test_a_schedule_part_that_is_negative_or_not_a_number_is_refused_by_name(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        config(**{name: value})
