"""The symbols the market lists, cached at the gateway so validation costs no call per order."""

from __future__ import annotations

import logging
import time

from mesh.errors.kinds import DeadlineExceeded, Unavailable
from mesh.errors.upstream import call, upstream_detail
from simplebank.market.v1 import market_pb2, market_pb2_grpc

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


class ListedSymbols:
    """Reference data with a time to live: a symbol listed a minute ago is still good to check."""

    def __init__(self, market: market_pb2_grpc.MarketServiceAsyncStub, ttl: float = 60.0) -> None:
        self._market = market
        self._ttl = ttl
        self._symbols: frozenset[str] = frozenset()
        self._listed_at = float("-inf")  # when the market last answered
        self._fetched_at = float("-inf")  # ...or when we last gave up asking it

    async def get(self) -> frozenset[str]:
        if time.monotonic() - self._fetched_at > self._ttl:
            try:
                response = await call(
                    "market", self._market.ListQuotes(market_pb2.ListQuotesRequest())
                )
            # What `call` makes of a market that is down or slow; any other refusal is a bug.
            except (Unavailable, DeadlineExceeded) as error:
                if not self._symbols:
                    raise
                return self._stale(error)
            self._symbols = frozenset(q.symbol for q in response.quotes)
            self._listed_at = self._fetched_at = time.monotonic()
        return self._symbols

    def _stale(self, error: Unavailable | DeadlineExceeded) -> frozenset[str]:
        """The market is away: an old list beats refusing every order, and asking again on
        every order would add the wait to each of them, so ask again in RETRY_SECONDS."""
        now = time.monotonic()
        log.warning(
            "market unreachable: validating against the symbols listed earlier",
            extra={"age_seconds": round(now - self._listed_at, 1), "error": upstream_detail(error)},
        )
        self._fetched_at = now - self._ttl + RETRY_SECONDS
        return self._symbols
