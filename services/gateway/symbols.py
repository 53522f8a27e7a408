"""The symbols the market lists, cached at the gateway so validation costs no call per order."""

from __future__ import annotations

import time

from mesh.upstream import call
from simplebank.market.v1 import market_pb2, market_pb2_grpc

RETRY_SECONDS = 5.0


class ListedSymbols:
    """Reference data with a time to live: a symbol listed a minute ago is still good to check."""

    def __init__(self, market: market_pb2_grpc.MarketServiceAsyncStub, ttl: float = 60.0) -> None:
        self._market = market
        self._ttl = ttl
        self._symbols: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")

    async def get(self) -> frozenset[str]:
        if time.monotonic() - self._fetched_at > self._ttl:
            try:
                response = await call(
                    "market", self._market.ListQuotes(market_pb2.ListQuotesRequest())
                )
            except Exception:
                if self._symbols:  # the market is away: an old list beats refusing every order
                    # ...and asking again on every order would add the wait to each of them.
                    self._fetched_at = time.monotonic() - self._ttl + RETRY_SECONDS
                    return self._symbols
                raise
            self._symbols = frozenset(q.symbol for q in response.quotes)
            self._fetched_at = time.monotonic()
        return self._symbols
