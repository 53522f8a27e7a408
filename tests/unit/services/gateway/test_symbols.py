"""Unit tests for the gateway's cache of listed symbols: one market call per time to live, and
an old list rather than no list while the market is away, said in the log."""

from __future__ import annotations

import logging

import pytest

from mesh.errors.kinds import PermissionDenied, Unavailable
from tests.unit.services.gateway.upstreams import FakeMarket, listed_symbols

LISTED = frozenset({"AAPL", "GOOG", "MSFT"})
ALWAYS_EXPIRED = -1.0  # a time to live that has run out before the next call


async def test_the_symbols_are_fetched_once_within_their_time_to_live(market: FakeMarket) -> None:
    symbols = listed_symbols(market, ttl=60.0)

    assert await symbols.get() == LISTED
    assert await symbols.get() == LISTED
    assert len(market.requests) == 1


async def test_expired_symbols_are_fetched_again_and_pick_up_new_listings(
    market: FakeMarket,
) -> None:
    symbols = listed_symbols(market, ttl=ALWAYS_EXPIRED)
    await symbols.get()
    market.symbols.append("TSLA")

    assert await symbols.get() == LISTED | {"TSLA"}
    assert len(market.requests) == 2


async def test_the_old_list_is_used_while_the_market_is_down(market: FakeMarket) -> None:
    symbols = listed_symbols(market, ttl=ALWAYS_EXPIRED)
    await symbols.get()
    market.down = True

    assert await symbols.get() == LISTED


async def test_without_any_list_a_market_that_is_down_makes_the_call_unavailable(
    market: FakeMarket,
) -> None:
    market.down = True

    with pytest.raises(Unavailable, match="market"):
        await listed_symbols(market).get()


async def test_serving_the_old_list_is_logged_with_its_age_and_the_error(
    market: FakeMarket, caplog: pytest.LogCaptureFixture
) -> None:
    symbols = listed_symbols(market, ttl=ALWAYS_EXPIRED)
    await symbols.get()
    market.down = True

    with caplog.at_level(logging.WARNING, logger="services.gateway.symbols"):
        await symbols.get()

    [record] = caplog.records
    assert record.getMessage().startswith("market unreachable")
    assert "connection refused" in record.__dict__["error"]
    assert record.__dict__["age_seconds"] >= 0


async def test_a_refusal_other_than_unreachable_is_not_hidden_behind_the_old_list(
    market: FakeMarket,
) -> None:
    symbols = listed_symbols(market, ttl=ALWAYS_EXPIRED)
    await symbols.get()
    market.refusal = PermissionDenied("the gateway may not list quotes")

    with pytest.raises(PermissionDenied):
        await symbols.get()
