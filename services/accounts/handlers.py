"""Accounts handlers: reservations and portfolios (commands), and settlement from events."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.errors.kinds import FieldViolation, InvalidArgument
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services.accounts import domain, store
from services.accounts.domain import (
    Account,
    AccountNotFound,
    AttemptState,
    Position,
    Reservation,
    ReservationReleased,
    ReservationState,
)
from services.events import FeeCharged, FeeRefunded, OrderExecuted, OrderRejected


@dataclass(frozen=True)
class ReserveHoldings:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    attempt_id: str


def _account(
    uow: UnitOfWork, account_id: str, lock: bool = False, positions: bool = True
) -> Account:
    account = store.get_account(uow, account_id, lock, positions)
    if account is None:
        raise AccountNotFound(account_id)
    return account


def _held(uow: UnitOfWork, order_id: str) -> tuple[Account, Reservation] | None:
    """An order's reservation and its account, the account locked for a change; None if the
    order reserved nothing. The reservation is read again once the lock is held: another
    transaction may have settled or released it in between."""
    seen = store.get_reservation(uow, order_id)
    if seen is None:
        return None
    account = _account(uow, seen.account_id, lock=True)
    reservation = store.get_reservation(uow, order_id)
    return None if reservation is None else (account, reservation)


def _reserve(uow: UnitOfWork, cmd: ReserveHoldings) -> Position:
    # The attempt's row comes first (locks in one order: attempt, then account). A release of
    # the same attempt meets this reserve on it, and whichever comes second finds the other's.
    claimed = store.claim_attempt(uow, cmd.attempt_id, cmd.order_id, AttemptState.HOLDS)
    if not claimed and store.get_attempt(uow, cmd.attempt_id) is AttemptState.RELEASED:
        # orders gave this attempt up (its answer was lost) and released it before the reserve
        # itself got here, from a queue or a slow replica: holding now would hold for no order.
        raise ReservationReleased(cmd.order_id, cmd.attempt_id)
    account = _account(uow, cmd.account_id, lock=True)
    held = store.get_reservation(uow, cmd.order_id)
    if held is not None and held.state is not ReservationState.RELEASED:
        # Asked again for the same order: the shares are already held (or already sold). An
        # attempt that did not make the hold is not recorded as holding it: only the one that
        # did may free it.
        if claimed:
            store.forget_attempt(uow, cmd.attempt_id)
        return account.positions[held.symbol]
    reservation = domain.reserve(account, cmd.order_id, cmd.symbol, cmd.quantity)
    store.save_position(uow, account, cmd.symbol)
    store.save_reservation(uow, reservation)
    return account.positions[cmd.symbol]


async def reserve_holdings(cmd: ReserveHoldings, database: Database) -> Position:
    """Hold the shares for one order, at most once per order id; all or nothing."""
    violations = [
        FieldViolation(name, "must not be empty")
        for name in ("order_id", "account_id", "symbol", "attempt_id")
        if not getattr(cmd, name)
    ]
    if violations:
        raise InvalidArgument(violations)
    return await database.transact(lambda uow: _reserve(uow, cmd))


def _release(uow: UnitOfWork, order_id: str) -> bool:
    held = _held(uow, order_id)
    if held is None:
        return False
    account, reservation = held
    if not domain.release(account, reservation):
        return False
    store.save_position(uow, account, reservation.symbol)
    store.save_reservation(uow, reservation)
    return True


def _release_attempt(uow: UnitOfWork, order_id: str, attempt_id: str) -> bool:
    # The attempt's row first, as its reserve does: recorded RELEASED if the reserve has not
    # been here (it is refused when it comes), else given up if it made the hold. Only the
    # attempt that made the hold frees it: a late release of an earlier try must not take the
    # shares from a later one whose order was stored.
    if store.claim_attempt(uow, attempt_id, order_id, AttemptState.RELEASED):
        return False
    return store.give_up_attempt(uow, attempt_id) and _release(uow, order_id)


async def release_holdings(order_id: str, attempt_id: str, database: Database) -> bool:
    """Give back what one reserve attempt held, for an order that was never stored, and refuse
    that attempt from now on (its reserve may still be on its way). Idempotent."""
    violations = [
        FieldViolation(name, "must not be empty")
        for name, value in (("order_id", order_id), ("attempt_id", attempt_id))
        if not value
    ]
    if violations:
        raise InvalidArgument(violations)
    return await database.transact(lambda uow: _release_attempt(uow, order_id, attempt_id))


async def get_portfolio(account_id: str, database: Database) -> Account:
    if not account_id:
        raise InvalidArgument([FieldViolation("account_id", "must not be empty")])
    return await database.read(lambda uow: _account(uow, account_id))


# Event handlers run inside the consumer's unit of work, next to its processed-events row.


def debit_fee(event: FeeCharged, uow: UnitOfWork) -> None:
    account = _account(uow, event.account_id, lock=True, positions=False)  # a fee is cash only
    store.add_entries(uow, domain.charge_fee(account, event.order_id, event.fee))
    store.save_cash(uow, account)


def credit_fee_refund(event: FeeRefunded, uow: UnitOfWork) -> None:
    account = _account(uow, event.account_id, lock=True, positions=False)
    store.add_entries(uow, domain.refund_fee(account, event.order_id, event.fee))
    store.save_cash(uow, account)


def settle_executed_order(event: OrderExecuted, uow: UnitOfWork) -> None:
    held = _held(uow, event.order_id)
    if held is None or held[1].state is ReservationState.RELEASED:
        # Shares sold on the exchange that the account no longer holds for the order: never
        # settle that quietly; failing sends the event to the dead-letter subject, logged.
        raise LookupError(f"no held reservation for executed order {event.order_id}")
    account, reservation = held
    store.add_entries(uow, domain.settle(account, reservation, event.proceeds))
    store.save_cash(uow, account)
    store.save_position(uow, account, reservation.symbol)
    store.save_reservation(uow, reservation)


def release_rejected_order(event: OrderRejected, uow: UnitOfWork) -> None:
    # Releasing nothing (released already, or never made) is fine: the effect is the same.
    _release(uow, event.order_id)
