"""Orders handlers: place and read orders (commands), and follow the events of each order."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mesh import outbox
from mesh.convert import from_timestamp, timestamp, utc_now
from mesh.database import Database
from mesh.deadline import detached
from mesh.errors import FieldViolation, InvalidArgument, NotFound
from services.orders import store
from services.orders.domain import Order, check_same_request, order_id_for
from simplebank.events.v1 import events_pb2


@dataclass(frozen=True)
class PlaceOrder:
    account_id: str
    symbol: str
    quantity: int
    request_id: str


class Holdings(Protocol):
    """The accounts service, as orders needs it."""

    async def reserve(self, order_id: str, account_id: str, symbol: str, quantity: int) -> None: ...

    async def release(self, order_id: str) -> None: ...


class OrderNotFound(NotFound):
    reason = "ORDER_NOT_FOUND"


def _validate(cmd: PlaceOrder) -> None:
    violations = [
        FieldViolation(name, "must not be empty")
        for name in ("account_id", "symbol", "request_id")
        if not getattr(cmd, name)
    ]
    if cmd.quantity <= 0:
        violations.append(FieldViolation("quantity", "must be positive"))
    if violations:
        raise InvalidArgument(violations)


async def place_order(
    cmd: PlaceOrder, database: Database, holdings: Holdings, committed: Callable[[], None]
) -> Order:
    """Reserve the shares, then store the order and its OrderCreated event in one transaction.

    The same request again finds the stored order and returns it. If storing fails after the
    shares were reserved, the reservation is released, so nothing stays held for no order.
    """
    _validate(cmd)
    order_id = order_id_for(cmd.account_id, cmd.request_id)
    existing = await database.transact(lambda c: store.get(c, order_id))
    if existing is not None:
        check_same_request(existing, cmd.account_id, cmd.symbol, cmd.quantity)
        return existing

    await holdings.reserve(order_id, cmd.account_id, cmd.symbol, cmd.quantity)

    def save(connection: sqlite3.Connection) -> Order:
        raced = store.get(connection, order_id)
        if raced is not None:  # the same request, sent twice at once, got here first
            return raced
        order = Order.new(order_id, cmd.account_id, cmd.symbol, cmd.quantity, utc_now())
        store.save(connection, order)
        outbox.add_event(connection, f"{order_id}/OrderCreated", _order_created(order))
        return order

    try:
        order = await database.transact(save)
    except BaseException:
        # Also reached when the caller gives up (cancellation) while the save is running on
        # the database thread: it may still have committed. The thread runs work in order, so
        # this read tells; only an order that was not stored gives its shares back.
        with detached():
            if await database.transact(lambda c: store.get(c, order_id)) is None:
                await holdings.release(order_id)
        raise
    committed()
    # A rival request with the same request_id but other parameters may have won the race.
    check_same_request(order, cmd.account_id, cmd.symbol, cmd.quantity)
    return order


def _order_created(order: Order) -> events_pb2.OrderCreated:
    return events_pb2.OrderCreated(
        order_id=order.order_id,
        account_id=order.account_id,
        symbol=order.symbol,
        quantity=order.quantity,
        created_at=timestamp(order.created_at),
    )


async def get_order(order_id: str, database: Database) -> Order:
    if not order_id:
        raise InvalidArgument([FieldViolation("order_id", "must not be empty")])
    order = await database.transact(lambda c: store.get(c, order_id))
    if order is None:
        raise OrderNotFound(f"no order {order_id}", metadata={"order_id": order_id})
    return order


async def list_orders(account_id: str, database: Database) -> list[Order]:
    if not account_id:
        raise InvalidArgument([FieldViolation("account_id", "must not be empty")])
    return await database.transact(lambda c: store.list_for_account(c, account_id))


# Event handlers run inside the consumer's transaction, next to its processed-events row.


def _update(connection: sqlite3.Connection, order_id: str, change: Callable[[Order], bool]) -> None:
    order = store.get(connection, order_id)
    if order is None:
        # orders stores every order before its OrderCreated leaves, so this is a real fault:
        # raising makes the consumer retry and, in the end, dead-letter the event.
        raise LookupError(f"event for unknown order {order_id}")
    if change(order):
        store.save(connection, order)


def order_placed(connection: sqlite3.Connection, event: events_pb2.OrderPlaced) -> None:
    at = from_timestamp(event.placed_at)
    _update(connection, event.order_id, lambda o: o.mark_placed(at))


def order_executed(connection: sqlite3.Connection, event: events_pb2.OrderExecuted) -> None:
    at = from_timestamp(event.executed_at)
    price, proceeds = event.price.minor_units, event.proceeds.minor_units
    _update(connection, event.order_id, lambda o: o.mark_filled(price, proceeds, at))


def order_rejected(connection: sqlite3.Connection, event: events_pb2.OrderRejected) -> None:
    at = from_timestamp(event.rejected_at)
    _update(connection, event.order_id, lambda o: o.mark_rejected(event.reason, at))


def fee_charged(connection: sqlite3.Connection, event: events_pb2.FeeCharged) -> None:
    _update(connection, event.order_id, lambda o: o.record_fee(event.fee.minor_units, utc_now()))


def fee_refunded(connection: sqlite3.Connection, event: events_pb2.FeeRefunded) -> None:
    _update(connection, event.order_id, lambda o: o.record_fee_refund(utc_now()))
