"""Unit tests for the accounts domain: reservations, settlement and a ledger that balances."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from mesh.errors.kinds import InvalidArgument
from services.accounts.domain import (
    HOUSE_FEES,
    HOUSE_MARKET,
    Account,
    AccountNotFound,
    InsufficientHoldings,
    LedgerEntry,
    Position,
    Reservation,
    ReservationState,
    charge_fee,
    demo_accounts,
    refund_fee,
    release,
    reserve,
    settle,
    transfer,
)

STARTING_CASH = 10_000


def alice() -> Account:
    return Account("acc-alice", "alice", STARTING_CASH, {"AAPL": Position("AAPL", 100)})


def aapl(account: Account) -> Position:
    return account.positions["AAPL"]


def total(entries: Iterable[LedgerEntry], account: str | None = None) -> int:
    return sum(entry.amount for entry in entries if account is None or entry.account == account)


def test_a_reservation_holds_shares_so_they_are_no_longer_available() -> None:
    account = alice()

    reservation = reserve(account, "order-1", "AAPL", 30)

    assert reservation == Reservation("order-1", "acc-alice", "AAPL", 30, ReservationState.HELD)
    assert (aapl(account).quantity, aapl(account).reserved, aapl(account).available) == (
        100,
        30,
        70,
    )


def test_shares_held_for_one_order_cannot_be_sold_by_another() -> None:
    account = alice()
    reserve(account, "order-1", "AAPL", 80)

    with pytest.raises(InsufficientHoldings) as raised:
        reserve(account, "order-2", "AAPL", 30)

    assert raised.value.reason == "INSUFFICIENT_HOLDINGS"
    assert raised.value.metadata == {"symbol": "AAPL", "requested": "30", "available": "20"}
    assert aapl(account).reserved == 80


def test_a_symbol_the_account_does_not_hold_has_nothing_available() -> None:
    with pytest.raises(InsufficientHoldings) as raised:
        reserve(alice(), "order-1", "GOOG", 1)

    assert raised.value.metadata["available"] == "0"


@pytest.mark.parametrize("quantity", [0, -5])
def test_a_quantity_that_is_not_positive_is_an_invalid_argument(quantity: int) -> None:
    with pytest.raises(InvalidArgument) as raised:
        reserve(alice(), "order-1", "AAPL", quantity)

    assert [violation.field for violation in raised.value.violations] == ["quantity"]


def test_releasing_a_reservation_makes_the_shares_available_again() -> None:
    account = alice()
    reservation = reserve(account, "order-1", "AAPL", 30)

    assert release(account, reservation)

    assert reservation.state is ReservationState.RELEASED
    assert aapl(account).available == 100


def test_a_redelivered_release_changes_nothing() -> None:
    account = alice()
    reservation = reserve(account, "order-1", "AAPL", 30)
    release(account, reservation)

    assert not release(account, reservation)
    assert aapl(account).reserved == 0


def test_settling_takes_the_sold_shares_out_and_credits_the_proceeds() -> None:
    account = alice()
    reservation = reserve(account, "order-1", "AAPL", 30)

    entries = settle(account, reservation, proceeds=570_000)

    assert reservation.state is ReservationState.SETTLED
    assert (aapl(account).quantity, aapl(account).reserved) == (70, 0)
    assert account.cash == STARTING_CASH + 570_000
    assert total(entries, "acc-alice") == 570_000
    assert total(entries, HOUSE_MARKET) == -570_000


def test_a_redelivered_settlement_writes_no_entries_and_moves_nothing() -> None:
    account = alice()
    reservation = reserve(account, "order-1", "AAPL", 30)
    settle(account, reservation, 570_000)

    assert settle(account, reservation, 570_000) == ()
    assert (aapl(account).quantity, account.cash) == (70, STARTING_CASH + 570_000)


def test_a_released_reservation_cannot_be_settled() -> None:
    account = alice()
    reservation = reserve(account, "order-1", "AAPL", 30)
    release(account, reservation)

    assert settle(account, reservation, 570_000) == ()
    assert (aapl(account).quantity, account.cash) == (100, STARTING_CASH)


def test_every_transfer_writes_two_entries_that_sum_to_zero() -> None:
    debit, credit = transfer("order-1:fee", "acc-alice", HOUSE_FEES, 119, "order-1", "fee")

    assert (debit.account, debit.amount) == ("acc-alice", -119)
    assert (credit.account, credit.amount) == (HOUSE_FEES, 119)
    assert debit.entry_id != credit.entry_id
    assert total([debit, credit]) == 0


def test_a_transfer_of_a_negative_amount_is_a_bug() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        transfer("order-1:fee", "acc-alice", HOUSE_FEES, -1, "order-1", "fee")


def test_a_fee_is_charged_even_when_cash_runs_short() -> None:
    account = Account("acc-broke", "broke", 50, {})

    charge_fee(account, "order-1", 119)

    assert account.cash == -69


def test_a_refunded_fee_leaves_cash_and_the_house_where_they_started() -> None:
    account = alice()

    entries = [*charge_fee(account, "order-1", 119), *refund_fee(account, "order-1", 119)]

    assert account.cash == STARTING_CASH
    assert total(entries, HOUSE_FEES) == 0
    assert len({entry.entry_id for entry in entries}) == len(entries)


def test_cash_always_moves_by_exactly_the_customers_ledger_entries() -> None:
    account = alice()
    reservation = reserve(account, "order-1", "AAPL", 10)

    entries = [*charge_fee(account, "order-1", 290), *settle(account, reservation, 190_000)]

    assert account.cash == STARTING_CASH + total(entries, "acc-alice")
    assert total(entries) == 0


def test_the_demo_accounts_hold_what_the_design_promises() -> None:
    holdings = {
        (account.customer_id, account.account_id, account.cash): {
            symbol: position.quantity for symbol, position in account.positions.items()
        }
        for account in demo_accounts()
    }

    assert holdings == {
        ("alice", "acc-alice", 1_000_000): {"AAPL": 100, "MSFT": 50},
        ("bob", "acc-bob", 50_000): {"GOOG": 20},
    }


def test_a_missing_account_is_reported_with_its_id() -> None:
    error = AccountNotFound("acc-nobody")

    assert (error.reason, error.metadata) == ("ACCOUNT_NOT_FOUND", {"account_id": "acc-nobody"})
