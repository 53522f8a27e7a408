"""Market handlers: quotes (commands), booking orders (event) and executing them when due."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from mesh.errors.kinds import FieldViolation, InvalidArgument
from mesh.storage.unit_of_work import UnitOfWork
from services.events import OrderCreated, OrderExecuted, OrderPlaced, OrderRejected
from services.market import store
from services.market.domain import (
    STARTING_PRICES,
    Exchange,
    Execution,
    Rejection,
    UnknownSymbol,
    price_at,
)
from services.market.store import BookedOrder

log = logging.getLogger(__name__)


def quote(symbol: str, now: float) -> int:
    if not symbol:
        raise InvalidArgument([FieldViolation("symbol", "must not be empty")])
    return price_at(symbol, now)


def listed_symbols() -> list[str]:
    return sorted(STARTING_PRICES)


# Event handler: runs inside the consumer's unit of work, next to its processed-events row.


def book_order(event: OrderCreated, uow: UnitOfWork, delay: float) -> None:
    """Take the order onto the exchange: OrderPlaced now, execution once `delay` has passed.

    The booked order keeps the trace it came in with, so its execution joins the same trace.
    """
    now = time.time()
    order = BookedOrder(
        event.order_id, event.account_id, event.symbol, event.quantity, uow.trace_context()
    )
    if not store.add(uow, order, execute_after=now + delay):
        return
    try:
        notional = price_at(event.symbol, now) * event.quantity
    except UnknownSymbol:
        notional = 0  # the exchange rejects it when due; there is nothing to charge on
    placed_at = datetime.fromtimestamp(now, UTC)
    log.info("order booked", extra={"order_id": event.order_id, "notional": notional})
    uow.add_event(
        f"{event.order_id}/OrderPlaced",
        OrderPlaced(
            event.order_id, event.account_id, event.symbol, event.quantity, notional, placed_at
        ),
    )


# Run by the matcher, in a unit of work of its own per due order.


def execute_order(
    order: BookedOrder, uow: UnitOfWork, exchange: Exchange, now: float
) -> Execution | Rejection | None:
    """Execute one due order and record the outcome event, once (None if it was done already)."""
    outcome = exchange.execute(order.order_id, order.symbol, order.quantity, now)
    executed = isinstance(outcome, Execution)
    if not store.close(uow, order.order_id, "EXECUTED" if executed else "REJECTED"):
        return None
    at = datetime.fromtimestamp(now, UTC)
    if isinstance(outcome, Execution):
        log.info("order executed", extra={"order_id": order.order_id, "price": outcome.price})
        uow.add_event(
            f"{order.order_id}/OrderExecuted",
            OrderExecuted(
                order.order_id,
                order.account_id,
                order.symbol,
                order.quantity,
                outcome.price,
                outcome.proceeds,
                at,
            ),
        )
    else:
        log.info("order rejected", extra={"order_id": order.order_id, "reason": outcome.reason})
        uow.add_event(
            f"{order.order_id}/OrderRejected",
            OrderRejected(
                order.order_id, order.account_id, order.symbol, order.quantity, outcome.reason, at
            ),
        )
    return outcome
