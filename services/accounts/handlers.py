"""Accounts handlers: reservations and portfolios (commands), and settlement from events."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from mesh.database import Database
from mesh.errors import FieldViolation, InvalidArgument
from services.accounts import domain, store
from services.accounts.domain import Account, AccountNotFound, Position, ReservationState
from simplebank.events.v1 import events_pb2


@dataclass(frozen=True)
class ReserveHoldings:
    order_id: str
    account_id: str
    symbol: str
    quantity: int


def _account(connection: sqlite3.Connection, account_id: str) -> Account:
    account = store.get_account(connection, account_id)
    if account is None:
        raise AccountNotFound(account_id)
    return account


def _reserve(connection: sqlite3.Connection, cmd: ReserveHoldings) -> Position:
    account = _account(connection, cmd.account_id)
    held = store.get_reservation(connection, cmd.order_id)
    if held is not None and held.state is not ReservationState.RELEASED:
        # Asked again for the same order: the shares are already held (or already sold).
        return account.positions[held.symbol]
    reservation = domain.reserve(account, cmd.order_id, cmd.symbol, cmd.quantity)
    store.save_positions(connection, account)
    store.save_reservation(connection, reservation)
    return account.positions[cmd.symbol]


async def reserve_holdings(cmd: ReserveHoldings, database: Database) -> Position:
    """Hold the shares for one order, at most once per order id; all or nothing."""
    violations = [
        FieldViolation(name, "must not be empty")
        for name in ("order_id", "account_id", "symbol")
        if not getattr(cmd, name)
    ]
    if violations:
        raise InvalidArgument(violations)
    return await database.transact(lambda c: _reserve(c, cmd))


def _release(connection: sqlite3.Connection, order_id: str) -> bool:
    reservation = store.get_reservation(connection, order_id)
    if reservation is None:
        return False
    account = _account(connection, reservation.account_id)
    if not domain.release(account, reservation):
        return False
    store.save_positions(connection, account)
    store.save_reservation(connection, reservation)
    return True


async def release_holdings(order_id: str, database: Database) -> bool:
    """Give back the shares held for an order that was never stored. Idempotent."""
    if not order_id:
        raise InvalidArgument([FieldViolation("order_id", "must not be empty")])
    return await database.transact(lambda c: _release(c, order_id))


async def get_portfolio(account_id: str, database: Database) -> Account:
    if not account_id:
        raise InvalidArgument([FieldViolation("account_id", "must not be empty")])
    return await database.transact(lambda c: _account(c, account_id))


# Event handlers run inside the consumer's transaction, next to its processed-events row.


def fee_charged(connection: sqlite3.Connection, event: events_pb2.FeeCharged) -> None:
    account = _account(connection, event.account_id)
    store.add_entries(connection, domain.charge_fee(account, event.order_id, event.fee.minor_units))
    store.save_account(connection, account)


def fee_refunded(connection: sqlite3.Connection, event: events_pb2.FeeRefunded) -> None:
    account = _account(connection, event.account_id)
    store.add_entries(connection, domain.refund_fee(account, event.order_id, event.fee.minor_units))
    store.save_account(connection, account)


def order_executed(connection: sqlite3.Connection, event: events_pb2.OrderExecuted) -> None:
    reservation = store.get_reservation(connection, event.order_id)
    if reservation is None or reservation.state is ReservationState.RELEASED:
        # Shares sold on the exchange that the account no longer holds for the order: never
        # settle that quietly; failing sends the event to the dead-letter subject, logged.
        raise LookupError(f"no held reservation for executed order {event.order_id}")
    account = _account(connection, reservation.account_id)
    store.add_entries(connection, domain.settle(account, reservation, event.proceeds.minor_units))
    store.save_account(connection, account)
    store.save_reservation(connection, reservation)


def order_rejected(connection: sqlite3.Connection, event: events_pb2.OrderRejected) -> None:
    # Releasing nothing (released already, or never made) is fine: the effect is the same.
    _release(connection, event.order_id)
