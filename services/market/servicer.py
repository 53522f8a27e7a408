"""market's gRPC API: quotes from the simulated exchange."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import grpc

from mesh.convert import money, timestamp
from services.market import handlers
from services.market.domain import Exchange
from simplebank.market.v1 import market_pb2, market_pb2_grpc


class MarketServicer(market_pb2_grpc.MarketServiceServicer):
    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    def _quote(self, symbol: str, now: float) -> market_pb2.Quote:
        return market_pb2.Quote(
            symbol=symbol,
            price=money(handlers.quote(symbol, now)),
            as_of=timestamp(datetime.fromtimestamp(now, UTC)),
            halted=symbol in self._exchange.halted,
        )

    async def GetQuote(
        self,
        request: market_pb2.GetQuoteRequest,
        context: grpc.aio.ServicerContext[market_pb2.GetQuoteRequest, market_pb2.GetQuoteResponse],
    ) -> market_pb2.GetQuoteResponse:
        return market_pb2.GetQuoteResponse(quote=self._quote(request.symbol, time.time()))

    async def ListQuotes(
        self,
        request: market_pb2.ListQuotesRequest,
        context: grpc.aio.ServicerContext[
            market_pb2.ListQuotesRequest, market_pb2.ListQuotesResponse
        ],
    ) -> market_pb2.ListQuotesResponse:
        now = time.time()
        return market_pb2.ListQuotesResponse(
            quotes=[self._quote(s, now) for s in handlers.listed_symbols()]
        )
