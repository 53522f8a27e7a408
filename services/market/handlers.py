"""Market handlers: quotes (commands), booking orders (event) and executing them when due."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from mesh import outbox
from mesh.convert import money, timestamp
from mesh.errors import FieldViolation, InvalidArgument
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
from simplebank.events.v1 import events_pb2
from tracing.messaging import capture_context


def quote(symbol: str, now: float) -> int:
    if not symbol:
        raise InvalidArgument([FieldViolation("symbol", "must not be empty")])
    return price_at(symbol, now)


def listed_symbols() -> list[str]:
    return sorted(STARTING_PRICES)


# Event handler: runs inside the consumer's transaction, next to its processed-events row.


def book_order(
    delay: float, connection: sqlite3.Connection, event: events_pb2.OrderCreated
) -> None:
    """Take the order onto the exchange: OrderPlaced now, execution once `delay` has passed."""
    now = time.time()
    order = BookedOrder(
        event.order_id, event.account_id, event.symbol, event.quantity, capture_context()
    )
    if not store.add(connection, order, execute_after=now + delay):
        return
    try:
        notional = price_at(event.symbol, now) * event.quantity
    except UnknownSymbol:
        notional = 0  # the exchange rejects it when due; there is nothing to charge on
    outbox.add_event(
        connection,
        f"{event.order_id}/OrderPlaced",
        events_pb2.OrderPlaced(
            order_id=event.order_id,
            account_id=event.account_id,
            symbol=event.symbol,
            quantity=event.quantity,
            notional=money(notional),
            placed_at=timestamp(datetime.fromtimestamp(now, UTC)),
        ),
    )


def execute_order(
    exchange: Exchange, connection: sqlite3.Connection, *, order: BookedOrder, now: float
) -> Execution | Rejection | None:
    """Execute one due order and record the outcome event, once (None if it was done already)."""
    outcome = exchange.execute(order.order_id, order.symbol, order.quantity, now)
    executed = isinstance(outcome, Execution)
    if not store.close(connection, order.order_id, "EXECUTED" if executed else "REJECTED"):
        return None
    at = timestamp(datetime.fromtimestamp(now, UTC))
    if isinstance(outcome, Execution):
        outbox.add_event(
            connection,
            f"{order.order_id}/OrderExecuted",
            events_pb2.OrderExecuted(
                order_id=order.order_id,
                account_id=order.account_id,
                symbol=order.symbol,
                quantity=order.quantity,
                price=money(outcome.price),
                proceeds=money(outcome.proceeds),
                executed_at=at,
            ),
        )
    else:
        outbox.add_event(
            connection,
            f"{order.order_id}/OrderRejected",
            events_pb2.OrderRejected(
                order_id=order.order_id,
                account_id=order.account_id,
                symbol=order.symbol,
                quantity=order.quantity,
                reason=outcome.reason,
                rejected_at=at,
            ),
        )
    return outcome
