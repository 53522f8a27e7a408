"""Fees handlers: quote a fee (command), charge placed orders and refund rejected ones (events)."""

from __future__ import annotations

import sqlite3

from mesh import outbox
from mesh.convert import money
from mesh.errors import FieldViolation, InvalidArgument
from services.fees import domain, store
from services.fees.domain import FeeSchedule
from simplebank.events.v1 import events_pb2


def quote_fee(schedule: FeeSchedule, notional: int) -> int:
    if notional < 0:
        raise InvalidArgument([FieldViolation("notional", "must not be negative")])
    return schedule.fee_for(notional)


# Event handlers run inside the consumer's transaction, next to its processed-events row.


def charge_placed_order(
    schedule: FeeSchedule, connection: sqlite3.Connection, event: events_pb2.OrderPlaced
) -> None:
    fee = store.get_or_new(connection, event.order_id, event.account_id)
    if domain.charge(fee, schedule.fee_for(event.notional.minor_units)):
        outbox.add_event(
            connection,
            f"{event.order_id}/FeeCharged",
            events_pb2.FeeCharged(
                order_id=fee.order_id, account_id=fee.account_id, fee=money(fee.amount)
            ),
        )
    store.save(connection, fee)


def refund_rejected_order(connection: sqlite3.Connection, event: events_pb2.OrderRejected) -> None:
    fee = store.get_or_new(connection, event.order_id, event.account_id)
    refunded = domain.refund(fee)
    if refunded:
        outbox.add_event(
            connection,
            f"{event.order_id}/FeeRefunded",
            events_pb2.FeeRefunded(
                order_id=fee.order_id, account_id=fee.account_id, fee=money(refunded)
            ),
        )
    store.save(connection, fee)
