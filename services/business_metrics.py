"""The business in numbers: orders placed, filled and rejected (by reason), fees charged.

Counted from the events a service commits, so each fact is counted once, when it became true,
by the service that owns it: orders places, market fills and rejects, fees charges.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.events import FeeCharged, OrderCreated, OrderExecuted, OrderRejected
from tracing.metrics import meter


class BusinessMetrics:
    def __init__(self) -> None:
        m = meter("simplebank.business")
        self._orders = m.create_counter(
            "simplebank.orders", unit="{order}", description="Orders by what happened to them."
        )
        self._fees = m.create_counter(
            "simplebank.fees.charged", unit="{fee}", description="Fees charged."
        )

    def count(self, events: Sequence[object]) -> None:
        """A Database.on_events_committed listener."""
        for event in events:
            match event:
                case OrderCreated():
                    self._orders.add(1, {"outcome": "placed"})
                case OrderExecuted():
                    self._orders.add(1, {"outcome": "filled"})
                case OrderRejected(reason=reason):
                    self._orders.add(1, {"outcome": "rejected", "reason": reason})
                case FeeCharged():
                    self._fees.add(1)
