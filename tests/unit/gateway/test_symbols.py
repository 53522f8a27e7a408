"""Unit tests for the gateway's cache of listed symbols: one market call per time to live, and
an old list rather than no list while the market is away."""

from __future__ import annotations

import pytest

from mesh.errors import Unavailable
from tests.unit.gateway.upstreams import FakeMarket, listed_symbols

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
