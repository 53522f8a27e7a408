"""Accounts domain: cash, share positions with reservations, and a double-entry cash ledger."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mesh.errors.kinds import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound

HOUSE_FEES = "house:fees"
HOUSE_MARKET = "house:market"


class AccountNotFound(NotFound):
    reason = "ACCOUNT_NOT_FOUND"

    def __init__(self, account_id: str) -> None:
        super().__init__(f"no account {account_id}", metadata={"account_id": account_id})


class InsufficientHoldings(FailedPrecondition):
    reason = "INSUFFICIENT_HOLDINGS"

    def __init__(self, symbol: str, requested: int, available: int) -> None:
        super().__init__(
            f"cannot sell {requested} {symbol}: only {available} available",
            metadata={"symbol": symbol, "requested": str(requested), "available": str(available)},
        )


class ReservationReleased(Aborted):
    """A reserve whose attempt was given back before it arrived: it must hold nothing now."""

    reason = "RESERVATION_RELEASED"

    def __init__(self, order_id: str, attempt_id: str) -> None:
        super().__init__(
            f"reserve attempt {attempt_id} for order {order_id} was released already",
            metadata={"order_id": order_id, "attempt_id": attempt_id},
        )


class AttemptState(enum.Enum):
    """Where one reserve attempt stands: it made the order's hold, or it was given up on."""

    HOLDS = "HOLDS"
    RELEASED = "RELEASED"


class ReservationState(enum.Enum):
    HELD = "HELD"
    RELEASED = "RELEASED"
    SETTLED = "SETTLED"


@dataclass
class Position:
    symbol: str
    quantity: int
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


@dataclass
class Reservation:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    state: ReservationState = ReservationState.HELD


@dataclass
class LedgerEntry:
    entry_id: str
    account: str
    amount: int
    order_id: str
    kind: str


@dataclass
class Account:
    account_id: str
    customer_id: str
    cash: int
    positions: dict[str, Position] = field(default_factory=dict)


def transfer(
    entry_id_prefix: str,
    debit_account: str,
    credit_account: str,
    amount: int,
    order_id: str,
    kind: str,
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move `amount` from the debit account to the credit account as two entries summing to zero.

    Entry ids derive from the prefix, so a redelivered event writes the same ids and a unique key
    in storage refuses the duplicate.
    """
    if amount < 0:
        raise ValueError(f"a transfer moves a non-negative amount, got {amount}")
    return (
        LedgerEntry(f"{entry_id_prefix}:debit", debit_account, -amount, order_id, kind),
        LedgerEntry(f"{entry_id_prefix}:credit", credit_account, amount, order_id, kind),
    )


def reserve(account: Account, order_id: str, symbol: str, quantity: int) -> Reservation:
    """Hold shares for a sell order so that no second order can sell them too."""
    if quantity <= 0:
        raise InvalidArgument([FieldViolation("quantity", "must be positive")])
    position = account.positions.get(symbol)
    available = position.available if position else 0
    if position is None or available < quantity:
        raise InsufficientHoldings(symbol, quantity, available)
    position.reserved += quantity
    return Reservation(order_id, account.account_id, symbol, quantity)


def release(account: Account, reservation: Reservation) -> bool:
    """Give held shares back; a second release of the same reservation changes nothing."""
    if reservation.state is not ReservationState.HELD:
        return False
    account.positions[reservation.symbol].reserved -= reservation.quantity
    reservation.state = ReservationState.RELEASED
    return True


def settle(account: Account, reservation: Reservation, proceeds: int) -> tuple[LedgerEntry, ...]:
    """The held shares were sold: they leave the account and the proceeds arrive."""
    if reservation.state is not ReservationState.HELD:
        return ()
    prefix = f"{reservation.order_id}:proceeds"
    entries = transfer(
        prefix, HOUSE_MARKET, account.account_id, proceeds, reservation.order_id, "proceeds"
    )
    position = account.positions[reservation.symbol]
    position.quantity -= reservation.quantity
    position.reserved -= reservation.quantity
    reservation.state = ReservationState.SETTLED
    account.cash += proceeds
    return entries


def charge_fee(account: Account, order_id: str, amount: int) -> tuple[LedgerEntry, ...]:
    # The fee is owed once the exchange took the order; refusing it for short cash would lose
    # money from the ledger, so cash may go below zero and shows the debt instead.
    entries = transfer(f"{order_id}:fee", account.account_id, HOUSE_FEES, amount, order_id, "fee")
    account.cash -= amount
    return entries


def refund_fee(account: Account, order_id: str, amount: int) -> tuple[LedgerEntry, ...]:
    prefix = f"{order_id}:fee-refund"
    entries = transfer(prefix, HOUSE_FEES, account.account_id, amount, order_id, "fee_refund")
    account.cash += amount
    return entries


def demo_accounts() -> list[Account]:
    """The accounts seeded into an empty database so a local run has someone to sell for."""
    return [
        Account("acc-alice", "alice", 1_000_000, _positions(AAPL=100, MSFT=50)),
        Account("acc-bob", "bob", 50_000, _positions(GOOG=20)),
    ]


def _positions(**quantities: int) -> dict[str, Position]:
    return {symbol: Position(symbol, quantity) for symbol, quantity in quantities.items()}
