"""Fees handlers: quote a fee (command), charge placed orders and refund rejected ones (events)."""

from __future__ import annotations

from mesh.errors.kinds import FieldViolation, InvalidArgument
from mesh.storage.unit_of_work import UnitOfWork
from services.events import FeeCharged, FeeRefunded, OrderPlaced, OrderRejected
from services.fees import domain, store
from services.fees.domain import FeeSchedule


def quote_fee(notional: int, schedule: FeeSchedule) -> int:
    if notional < 0:
        raise InvalidArgument([FieldViolation("notional", "must not be negative")])
    return schedule.fee_for(notional)


# Event handlers run inside the consumer's unit of work, next to its processed-events row.


def charge_placed_order(event: OrderPlaced, uow: UnitOfWork, schedule: FeeSchedule) -> None:
    fee = store.locked(uow, event.order_id, event.account_id)
    if domain.charge(fee, schedule.fee_for(event.notional)):
        uow.add_event(
            f"{event.order_id}/FeeCharged", FeeCharged(fee.order_id, fee.account_id, fee.amount)
        )
    store.save(uow, fee)


def refund_rejected_order(event: OrderRejected, uow: UnitOfWork) -> None:
    fee = store.locked(uow, event.order_id, event.account_id)
    refunded = domain.refund(fee)
    if refunded:
        uow.add_event(
            f"{event.order_id}/FeeRefunded", FeeRefunded(fee.order_id, fee.account_id, refunded)
        )
    store.save(uow, fee)
