"""Unit tests for the market gRPC API: quotes for every listed symbol, halts included."""

from __future__ import annotations

import pytest

from mesh.errors.kinds import NotFound
from services.market.domain import Exchange
from services.market.servicer import MarketServicer
from simplebank.market.v1 import market_pb2
from tests.unit.services.context import UNREAD_CONTEXT

HALTED_MSFT = MarketServicer(Exchange(halted=frozenset({"MSFT"})))


async def test_every_listed_symbol_is_quoted_and_halts_are_shown() -> None:
    response = await HALTED_MSFT.ListQuotes(market_pb2.ListQuotesRequest(), UNREAD_CONTEXT)

    assert [(q.symbol, q.halted) for q in response.quotes] == [
        ("AAPL", False),
        ("GOOG", False),
        ("MSFT", True),
    ]
    assert all(q.price.minor_units > 0 and q.price.currency_code == "USD" for q in response.quotes)


async def test_a_quote_names_its_symbol_and_when_it_was_taken() -> None:
    response = await HALTED_MSFT.GetQuote(market_pb2.GetQuoteRequest(symbol="AAPL"), UNREAD_CONTEXT)

    assert response.quote.symbol == "AAPL"
    assert response.quote.as_of.seconds > 0


async def test_a_quote_for_an_unknown_symbol_is_not_found() -> None:
    with pytest.raises(NotFound):
        await HALTED_MSFT.GetQuote(market_pb2.GetQuoteRequest(symbol="ZZZZ"), UNREAD_CONTEXT)
