"""Orders handlers: place and read orders (commands), and follow the events of each order."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mesh.calls.deadline import detached
from mesh.convert import utc_now
from mesh.errors.kinds import (
    CIRCUIT_OPEN,
    DeadlineExceeded,
    DomainError,
    FieldViolation,
    InvalidArgument,
    Unavailable,
)
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services.events import (
    FeeCharged,
    FeeRefunded,
    OrderCreated,
    OrderExecuted,
    OrderPlaced,
    OrderRejected,
)
from services.orders import store
from services.orders.domain import (
    Order,
    OrderNotFound,
    Placement,
    PlacementAbandoned,
    check_same_request,
    order_id_for,
)
from services.orders.placements import give_back, new_placement

log = logging.getLogger(__name__)

# Pauses while another attempt at the same request (a client retrying at once) is under way.
FIRST_WAIT_SECONDS, LONGEST_WAIT_SECONDS = 0.02, 0.2


@dataclass(frozen=True)
class PlaceOrder:
    account_id: str
    symbol: str
    quantity: int
    request_id: str


class Holdings(Protocol):
    """The accounts service, as orders needs it."""

    async def reserve(
        self, order_id: str, account_id: str, symbol: str, quantity: int, attempt_id: str
    ) -> None: ...

    async def release(self, order_id: str, attempt_id: str) -> None: ...


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

    The same request again finds the stored order and returns it; sent again while it is being
    placed, it waits for that. The attempt is recorded (a Placement) before the reserve call,
    so shares held for an order that is never stored always go back: at once when the reserve
    call ends without an answer or the save fails, else by the sweeper (orders.placements).
    """
    _validate(cmd)
    order_id = order_id_for(cmd.account_id, cmd.request_id)
    begun = await _stored_or_begun(order_id, database, holdings)
    if isinstance(begun, Order):
        check_same_request(begun, cmd.account_id, cmd.symbol, cmd.quantity)
        return begun
    placement = begun

    try:
        await holdings.reserve(
            order_id, cmd.account_id, cmd.symbol, cmd.quantity, placement.attempt_id
        )
    except BaseException as error:
        # accounts may have held the shares before the answer was lost: it went away or ran
        # out of time, or this call was cancelled (the caller went away, a gateway killed
        # mid-call). A refusal held nothing.
        with detached():
            await _end_quietly(placement, database, holdings, _may_have_reserved(error))
        raise

    def save(uow: UnitOfWork) -> Order:
        if not store.finish_placement(uow, placement):
            raise PlacementAbandoned(order_id)  # overdue: the sweeper gives its shares back
        order = Order.new(order_id, cmd.account_id, cmd.symbol, cmd.quantity, utc_now())
        store.save(uow, order)
        uow.add_event(f"{order_id}/OrderCreated", _order_created(order))
        return order

    try:
        order = await database.transact(save)
    except PlacementAbandoned:
        raise
    except BaseException:
        # Also reached when the caller gives up (cancellation) while the save is running on
        # a database thread: it may still have committed. transact waits for the work to
        # finish even then, and give_back finds the placement gone if the order was stored.
        with detached():
            await _end_quietly(placement, database, holdings, may_hold=True)
        raise
    log.info(
        "order stored, shares reserved",
        extra={"order_id": order.order_id, "symbol": order.symbol, "quantity": order.quantity},
    )
    return order


async def _stored_or_begun(
    order_id: str, database: Database, holdings: Holdings
) -> Order | Placement:
    """The stored order, or a new placement of ours once no other attempt is under way."""
    wait = FIRST_WAIT_SECONDS
    while True:
        placement = new_placement(order_id)
        found = await database.transact(functools.partial(_begin, placement))
        if found is placement or isinstance(found, Order):
            return found
        if found is None:
            continue  # the other attempt ended just now: look again
        if found.due(time.time()):
            with detached():
                await give_back(found, database, holdings)  # its caller and process are gone
            continue
        await asyncio.sleep(wait)
        wait = min(wait * 2, LONGEST_WAIT_SECONDS)


def _begin(placement: Placement, uow: UnitOfWork) -> Order | Placement | None:
    """The stored order; or `placement`, now recorded; or the other attempt in its way (None
    if that one has just ended)."""
    stored = store.get(uow, placement.order_id)
    if stored is not None:
        return stored
    if store.begin_placement(uow, placement):
        return placement
    return store.get_placement(uow, placement.order_id)


def _may_have_reserved(error: BaseException) -> bool:
    """Whether a reserve call that failed with `error` may still have held the shares.

    A call the open circuit refused never left orders (and a release now would be refused too).
    """
    if isinstance(error, Unavailable) and error.reason == CIRCUIT_OPEN:
        return False
    return not isinstance(error, DomainError) or isinstance(error, Unavailable | DeadlineExceeded)


async def _end_quietly(
    placement: Placement, database: Database, holdings: Holdings, may_hold: bool
) -> None:
    """End a placement that will not store its order; what fails here is left to the sweeper,
    and the caller hears why placing failed, not why the clean-up did."""
    try:
        if may_hold:
            await give_back(placement, database, holdings)
        else:
            await database.transact(lambda uow: store.drop_placement(uow, placement))
    except Exception:
        log.warning(
            "placement left for the sweeper to end",
            extra={"order_id": placement.order_id, "attempt_id": placement.attempt_id},
            exc_info=True,
        )


def _order_created(order: Order) -> OrderCreated:
    return OrderCreated(
        order.order_id, order.account_id, order.symbol, order.quantity, order.created_at
    )


async def get_order(order_id: str, database: Database) -> Order:
    if not order_id:
        raise InvalidArgument([FieldViolation("order_id", "must not be empty")])
    order = await database.transact(lambda c: store.get(c, order_id))
    if order is None:
        raise OrderNotFound(order_id)
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
