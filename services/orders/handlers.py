"""Orders handlers: place and read orders (commands), and follow the events of each order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mesh.convert import utc_now
from mesh.database import Database
from mesh.deadline import detached
from mesh.errors import (
    CIRCUIT_OPEN,
    DeadlineExceeded,
    DomainError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from mesh.unit_of_work import DatabaseUnavailable, UnitOfWork
from services.events import (
    FeeCharged,
    FeeRefunded,
    OrderCreated,
    OrderExecuted,
    OrderPlaced,
    OrderRejected,
)
from services.orders import store
from services.orders.domain import Order, check_same_request, order_id_for

log = logging.getLogger(__name__)

# Pauses between checks of whether a failed save was stored, while the database is away.
RELEASE_CHECK_WAITS = (0.25, 0.5, 1.0, 2.0, 4.0, None)


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


async def place_order(cmd: PlaceOrder, database: Database, holdings: Holdings) -> Order:
    """Reserve the shares, then store the order and its OrderCreated event in one transaction.

    The same request again finds the stored order and returns it. If storing fails after the
    shares were reserved, or the reserve call itself ends without an answer (cancelled, out of
    time, accounts away), the reservation is released, so nothing stays held for no order.
    """
    _validate(cmd)
    order_id = order_id_for(cmd.account_id, cmd.request_id)
    existing = await database.transact(lambda c: store.get(c, order_id))
    if existing is not None:
        check_same_request(existing, cmd.account_id, cmd.symbol, cmd.quantity)
        return existing

    try:
        await holdings.reserve(order_id, cmd.account_id, cmd.symbol, cmd.quantity)
    except BaseException as error:
        # accounts may have held the shares before the answer was lost: it went away or ran
        # out of time, or this call was cancelled (the caller went away, a gateway killed
        # mid-call). A refusal held nothing.
        if _may_have_reserved(error):
            with detached():
                await _give_back_after_a_lost_answer(order_id, database, holdings)
        raise

    def save(uow: UnitOfWork) -> Order:
        raced = store.get(uow, order_id)
        if raced is not None:  # the same request, sent twice at once, got here first
            return raced
        order = Order.new(order_id, cmd.account_id, cmd.symbol, cmd.quantity, utc_now())
        store.save(uow, order)
        uow.add_event(f"{order_id}/OrderCreated", _order_created(order))
        return order

    try:
        order = await database.transact(save)
    except BaseException:
        # Also reached when the caller gives up (cancellation) while the save is running on
        # a database thread: it may still have committed. transact waits for the work to
        # finish even then, so this read tells; only an order that was not stored gives its
        # shares back.
        with detached():
            await _release_unless_stored(order_id, database, holdings)
        raise
    # A rival request with the same request_id but other parameters may have won the race.
    check_same_request(order, cmd.account_id, cmd.symbol, cmd.quantity)
    log.info(
        "order stored, shares reserved",
        extra={"order_id": order.order_id, "symbol": order.symbol, "quantity": order.quantity},
    )
    return order


def _may_have_reserved(error: BaseException) -> bool:
    """Whether a reserve call that failed with `error` may still have held the shares.

    A call the open circuit refused never left orders (and a release now would be refused too).
    """
    if isinstance(error, Unavailable) and error.reason == CIRCUIT_OPEN:
        return False
    return not isinstance(error, DomainError) or isinstance(error, Unavailable | DeadlineExceeded)


async def _give_back_after_a_lost_answer(
    order_id: str, database: Database, holdings: Holdings
) -> None:
    """Release the shares unless the order was stored; if that fails too, say so in the log:
    the caller hears why its reserve failed, not why the clean-up did."""
    try:
        await _release_unless_stored(order_id, database, holdings)
    except Exception:
        log.warning(
            "shares may stay reserved for an order that was not stored",
            extra={"order_id": order_id},
            exc_info=True,
        )


async def _release_unless_stored(order_id: str, database: Database, holdings: Holdings) -> None:
    """Give the shares back if the order was not stored, once the database can say so.

    A save that failed because the database went away (a PostgreSQL restart) may even have
    committed; the answer comes when it is back, so the check waits for it a little.
    """
    for wait in RELEASE_CHECK_WAITS:
        try:
            stored = await database.transact(lambda c: store.get(c, order_id))
        except DatabaseUnavailable:
            if wait is None:
                raise
            await asyncio.sleep(wait)
            continue
        if stored is None:
            await holdings.release(order_id)
        return


def _order_created(order: Order) -> OrderCreated:
    return OrderCreated(
        order.order_id, order.account_id, order.symbol, order.quantity, order.created_at
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


# Event handlers run inside the consumer's unit of work, next to its processed-events row.


def _update(uow: UnitOfWork, order_id: str, change: Callable[[Order], bool]) -> None:
    order = store.get(uow, order_id)
    if order is None:
        # orders stores every order before its OrderCreated leaves, so this is a real fault:
        # raising makes the consumer retry and, in the end, dead-letter the event.
        raise LookupError(f"event for unknown order {order_id}")
    if change(order):
        store.save(uow, order)


def mark_order_placed(event: OrderPlaced, uow: UnitOfWork) -> None:
    _update(uow, event.order_id, lambda o: o.mark_placed(event.placed_at))


def mark_order_filled(event: OrderExecuted, uow: UnitOfWork) -> None:
    _update(
        uow,
        event.order_id,
        lambda o: o.mark_filled(event.price, event.proceeds, event.executed_at),
    )


def mark_order_rejected(event: OrderRejected, uow: UnitOfWork) -> None:
    _update(uow, event.order_id, lambda o: o.mark_rejected(event.reason, event.rejected_at))


def record_fee(event: FeeCharged, uow: UnitOfWork) -> None:
    _update(uow, event.order_id, lambda o: o.record_fee(event.fee, utc_now()))


def record_fee_refund(event: FeeRefunded, uow: UnitOfWork) -> None:
    _update(uow, event.order_id, lambda o: o.record_fee_refund(utc_now()))
