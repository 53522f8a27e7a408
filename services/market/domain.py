"""Market domain: a simulated exchange with deterministic, slowly moving prices."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from mesh.errors.kinds import NotFound

STARTING_PRICES: Final[Mapping[str, int]] = MappingProxyType(
    {"AAPL": 19_000, "MSFT": 42_000, "GOOG": 17_000}
)

# Prices swing +-2% over a five-minute cycle: enough to see movement in a demo, and a pure
# function of time, so tests and replays get the same price for the same instant.
SWING = 0.02
PERIOD_SECONDS = 300.0

SYMBOL_HALTED = "SYMBOL_HALTED"
UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
INVALID_QUANTITY = "INVALID_QUANTITY"


class UnknownSymbol(NotFound):
    reason = UNKNOWN_SYMBOL

    def __init__(self, symbol: str) -> None:
        super().__init__(f"no such symbol: {symbol}", metadata={"symbol": symbol})


def price_at(symbol: str, seconds_since_epoch: float) -> int:
    """The price in cents of one share at the given instant."""
    base = STARTING_PRICES.get(symbol)
    if base is None:
        raise UnknownSymbol(symbol)
    wave = math.sin(2 * math.pi * seconds_since_epoch / PERIOD_SECONDS)
    return max(1, round(base * (1 + SWING * wave)))


@dataclass(frozen=True)
class Execution:
    order_id: str
    price: int
    proceeds: int


@dataclass(frozen=True)
class Rejection:
    order_id: str
    reason: str


@dataclass(frozen=True)
class Exchange:
    halted: frozenset[str] = field(default_factory=frozenset)

    def execute(
        self, order_id: str, symbol: str, quantity: int, at: float
    ) -> Execution | Rejection:
        """Sell the whole quantity at the current price, or say why not.

        A rejection is an outcome, not an error: it travels on as an OrderRejected event.
        """
        if symbol not in STARTING_PRICES:
            return Rejection(order_id, UNKNOWN_SYMBOL)
        if symbol in self.halted:
            return Rejection(order_id, SYMBOL_HALTED)
        if quantity <= 0:
            return Rejection(order_id, INVALID_QUANTITY)
        price = price_at(symbol, at)
        return Execution(order_id, price, price * quantity)
