"""Unit tests for the market's configuration: which symbols are halted, and how long execution
waits."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError, Env
from services.market.config import MarketConfig


def config(**environ: str) -> MarketConfig:
    return MarketConfig.from_env(Env(environ))


def test_halted_symbols_are_read_as_an_upper_case_list_ignoring_blanks() -> None:
    assert config(MARKET_HALTED_SYMBOLS=" aapl, MSFT ,,").halted_symbols == {"AAPL", "MSFT"}


def test_nothing_is_halted_by_default() -> None:
    assert config().halted_symbols == frozenset()


def test_a_negative_execution_delay_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="MARKET_EXECUTION_DELAY_SECONDS"):
        config(MARKET_EXECUTION_DELAY_SECONDS="-1")
