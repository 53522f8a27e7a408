"""Orders handlers: place and read orders (commands), and follow the events of each order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mesh.convert import utc_now
from mesh.errors.kinds import FieldViolation, InvalidArgument
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services.events import (
    FeeCharged,
    FeeRefunded,
    OrderExecuted,
    OrderPlaced,
    OrderRejected,
)
from services.orders import paging, placements, store
from services.orders.domain import Order, OrderNotFound, check_same_request, order_id_for
from services.orders.placements import Holdings


@dataclass(frozen=True)
class PlaceOrder:
    account_id: str
    symbol: str
    quantity: int
    request_id: str


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
    begun = await placements.begin(order_id, database, holdings)
    if isinstance(begun, Order):
        check_same_request(begun, cmd.account_id, cmd.symbol, cmd.quantity)
        return begun  # placed before: the request was sent again
    await placements.reserve(begun, cmd, database, holdings)
    return await placements.save(begun, cmd, database, holdings)


async def get_order(order_id: str, database: Database) -> Order:
    if not order_id:
        raise InvalidArgument([FieldViolation("order_id", "must not be empty")])
    order = await database.read(lambda c: store.get(c, order_id))
    if order is None:
        raise OrderNotFound(order_id)
    return order


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    next_page_token: str  # empty on the last page


async def list_orders(
    account_id: str, database: Database, page_size: int = 0, page_token: str = ""
) -> OrderPage:
    if not account_id:
        raise InvalidArgument([FieldViolation("account_id", "must not be empty")])
    size = paging.page_size(page_size)
    after = paging.decode(page_token, account_id)
    # One more than the page holds: whether it comes tells if there is a next page.
    found = await database.read(
        lambda c: store.list_for_account(c, account_id, limit=size + 1, after=after)
    )
    page = found[:size]
    more = len(found) > size
    token = paging.encode(store.cursor_after(page[-1])) if more else ""
    return OrderPage(page, token)


# Event handlers run inside the consumer's unit of work, next to its processed-events row.


def _update(uow: UnitOfWork, order_id: str, change: Callable[[Order], bool]) -> None:
    order = store.get(uow, order_id, lock=True)
    if order is None:
        # orders stores every order before its OrderCreated leaves, so this is a real fault:
        # raising makes the consumer retry and, in the end, dead-letter the event.
        raise LookupError(f"event for unknown order {order_id}")
    stored = len(order.history)
    if change(order):
        store.save(uow, order, stored)


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
