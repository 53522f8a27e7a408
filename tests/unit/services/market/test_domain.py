"""Unit tests for the market domain: deterministic prices and the exchange's answers."""

from __future__ import annotations

import pytest

from services.market.domain import (
    PERIOD_SECONDS,
    STARTING_PRICES,
    Exchange,
    Execution,
    Rejection,
    UnknownSymbol,
    price_at,
)


def test_a_price_is_the_same_for_the_same_instant() -> None:
    assert price_at("AAPL", 1_736_155_800.25) == price_at("AAPL", 1_736_155_800.25)


def test_a_price_starts_at_the_starting_price_and_moves_with_time() -> None:
    quarter = PERIOD_SECONDS / 4

    assert [price_at("AAPL", t) for t in (0, quarter, 3 * quarter)] == [19_000, 19_380, 18_620]


@pytest.mark.parametrize("symbol", sorted(STARTING_PRICES))
def test_a_price_stays_positive_and_within_two_percent_of_its_start(symbol: str) -> None:
    base = STARTING_PRICES[symbol]
    prices = {price_at(symbol, t) for t in range(0, int(PERIOD_SECONDS), 7)}

    assert min(prices) >= base * 0.98 > 0
    assert max(prices) <= base * 1.02
    assert len(prices) > 1


def test_the_price_of_an_unknown_symbol_is_not_found() -> None:
    with pytest.raises(UnknownSymbol) as raised:
        price_at("ZZZ", 0)

    assert (raised.value.reason, raised.value.metadata) == ("UNKNOWN_SYMBOL", {"symbol": "ZZZ"})


def test_an_order_executes_at_the_current_price_for_its_whole_quantity() -> None:
    outcome = Exchange().execute("order-1", "MSFT", 3, at=0)

    assert outcome == Execution("order-1", price=42_000, proceeds=126_000)


@pytest.mark.parametrize(
    ("symbol", "quantity", "reason"),
    [("GOOG", 5, "SYMBOL_HALTED"), ("ZZZ", 5, "UNKNOWN_SYMBOL"), ("AAPL", 0, "INVALID_QUANTITY")],
)
def test_the_exchange_rejects_what_it_cannot_trade(symbol: str, quantity: int, reason: str) -> None:
    exchange = Exchange(halted=frozenset({"GOOG"}))

    assert exchange.execute("order-1", symbol, quantity, at=0) == Rejection("order-1", reason)
