"""Unit tests for the accounts handlers: reservations and settlement in a real SQLite database
seeded with the demo accounts, checked against the ledger after every story."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from mesh.errors.kinds import InvalidArgument
from mesh.storage.database import Database
from services import events
from services.accounts import handlers, store
from services.accounts.domain import (
    Account,
    AccountNotFound,
    InsufficientHoldings,
    Position,
    ReservationReleased,
)
from services.accounts.handlers import ReserveHoldings
from tests.unit.databases import deliver

AT = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)

ALICE_CASH = 1_000_000
RESERVATION = ReserveHoldings(
    order_id="o-1", account_id="acc-alice", symbol="AAPL", quantity=10, attempt_id="a-1"
)
PROCEEDS, FEE = 190_000, 290


async def reserve(database: Database, **changes: Any) -> Position:
    return await handlers.reserve_holdings(dataclasses.replace(RESERVATION, **changes), database)


async def portfolio(database: Database, account_id: str = "acc-alice") -> Account:
    return await handlers.get_portfolio(account_id, database)


async def position(database: Database, symbol: str = "AAPL") -> Position:
    return (await portfolio(database)).positions[symbol]


async def ledger_by_account(database: Database) -> dict[str, int]:
    rows = await database.transact(
        lambda c: c.execute(
            "SELECT account, SUM(amount) AS total FROM ledger GROUP BY account"
        ).fetchall()
    )
    return {row["account"]: row["total"] for row in rows}


async def cash_by_account(database: Database) -> dict[str, int]:
    rows = await database.transact(
        lambda c: c.execute("SELECT account_id, cash FROM accounts").fetchall()
    )
    return {row["account_id"]: row["cash"] for row in rows}


async def assert_the_books_balance(database: Database) -> None:
    ledger, cash = await ledger_by_account(database), await cash_by_account(database)

    assert sum(ledger.values()) == 0
    assert cash == {account_id: ledger[account_id] for account_id in cash}


# The events of order o-1, as the consumers deliver them.


async def fee_charged(database: Database) -> None:
    event = events.FeeCharged("o-1", "acc-alice", FEE)
    await deliver(database, handlers.debit_fee, event)


async def fee_refunded(database: Database) -> None:
    event = events.FeeRefunded("o-1", "acc-alice", FEE)
    await deliver(database, handlers.credit_fee_refund, event)


async def executed(database: Database) -> None:
    event = events.OrderExecuted("o-1", "acc-alice", "AAPL", 10, PROCEEDS // 10, PROCEEDS, AT)
    await deliver(database, handlers.settle_executed_order, event)


async def rejected(database: Database) -> None:
    await deliver(
        database,
        handlers.release_rejected_order,
        events.OrderRejected("o-1", "acc-alice", "AAPL", 10, "SYMBOL_HALTED", AT),
    )


Event = Callable[[Database], Awaitable[None]]


def event_names(events: Sequence[Event]) -> str:
    return "-".join(event.__name__ for event in events)


async def reserve_then(database: Database, events: Sequence[Event]) -> None:
    await reserve(database)
    for event in events:
        await event(database)


# Reservations.


async def test_a_reservation_holds_the_shares_and_reports_the_position(database: Database) -> None:
    held = await reserve(database)

    assert held == Position("AAPL", 100, reserved=10)
    assert await position(database) == held


async def test_a_repeated_reservation_for_one_order_holds_the_shares_once(
    database: Database,
) -> None:
    await reserve(database)
    again = await reserve(database)

    assert again.reserved == 10
    assert (await position(database)).reserved == 10


async def test_another_order_reserves_on_top_of_the_first(database: Database) -> None:
    await reserve(database)
    await reserve(database, order_id="o-2", quantity=5)

    assert (await position(database)).reserved == 15


async def test_a_reservation_larger_than_what_is_available_is_refused_and_holds_nothing(
    database: Database,
) -> None:
    await reserve(database, order_id="o-0", quantity=95)

    with pytest.raises(InsufficientHoldings) as refused:
        await reserve(database, quantity=10)

    assert refused.value.metadata == {"symbol": "AAPL", "requested": "10", "available": "5"}
    assert (await position(database)).reserved == 95
    assert not await handlers.release_holdings("o-1", "a-1", database)


async def test_a_symbol_the_account_does_not_hold_cannot_be_reserved(database: Database) -> None:
    with pytest.raises(InsufficientHoldings) as refused:
        await reserve(database, symbol="GOOG")

    assert refused.value.metadata["available"] == "0"


async def test_a_reservation_names_every_missing_field(database: Database) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await reserve(database, order_id="", account_id="", symbol="", attempt_id="")

    assert {v.field for v in refused.value.violations} == {
        "order_id",
        "account_id",
        "symbol",
        "attempt_id",
    }


async def test_an_unknown_account_is_not_found(database: Database) -> None:
    with pytest.raises(AccountNotFound) as missing:
        await reserve(database, account_id="acc-nobody")

    assert missing.value.metadata == {"account_id": "acc-nobody"}


async def test_the_portfolio_of_an_unknown_account_is_not_found(database: Database) -> None:
    with pytest.raises(AccountNotFound):
        await portfolio(database, "acc-nobody")


async def test_a_fee_for_an_unknown_account_is_not_found(database: Database) -> None:
    event = events.FeeCharged("o-1", "acc-nobody", FEE)

    with pytest.raises(AccountNotFound):
        await deliver(database, handlers.debit_fee, event)


# Releases.


async def test_a_release_gives_the_shares_back_once(database: Database) -> None:
    await reserve(database)

    assert await handlers.release_holdings("o-1", "a-1", database)
    assert not await handlers.release_holdings("o-1", "a-1", database)
    assert (await position(database)).reserved == 0


async def test_releasing_an_order_that_reserved_nothing_changes_nothing(
    database: Database,
) -> None:
    assert not await handlers.release_holdings("o-unknown", "a-1", database)


async def test_a_release_names_every_missing_field(database: Database) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await handlers.release_holdings("", "", database)

    assert {v.field for v in refused.value.violations} == {"order_id", "attempt_id"}


async def test_a_reserve_that_arrives_after_its_release_holds_nothing(
    database: Database,
) -> None:
    # orders lost the reserve's answer and gave the attempt up before accounts had run it.
    assert not await handlers.release_holdings("o-1", "a-1", database)

    with pytest.raises(ReservationReleased) as refused:
        await reserve(database)

    assert refused.value.metadata == {"order_id": "o-1", "attempt_id": "a-1"}
    assert (await position(database)).reserved == 0


async def test_a_late_release_of_an_earlier_attempt_leaves_a_later_ones_hold(
    database: Database,
) -> None:
    await reserve(database, attempt_id="a-1")
    await handlers.release_holdings("o-1", "a-1", database)
    await reserve(database, attempt_id="a-2")

    assert not await handlers.release_holdings("o-1", "a-1", database)
    assert (await position(database)).reserved == 10


async def test_an_order_whose_attempt_was_released_can_reserve_again_with_a_new_attempt(
    database: Database,
) -> None:
    await reserve(database)
    await handlers.release_holdings("o-1", "a-1", database)

    await reserve(database, attempt_id="a-2")

    assert (await position(database)).reserved == 10


async def test_a_retried_order_that_reserves_another_symbol_releases_that_symbol(
    database: Database,
) -> None:
    await reserve(database, symbol="AAPL", attempt_id="a-1")
    await handlers.release_holdings("o-1", "a-1", database)
    await reserve(database, symbol="MSFT", quantity=5, attempt_id="a-2")

    await handlers.release_holdings("o-1", "a-2", database)

    assert (await position(database, "MSFT")).reserved == 0
    assert (await position(database, "AAPL")).reserved == 0


async def test_a_rejected_order_releases_its_shares(database: Database) -> None:
    await reserve_then(database, [rejected, rejected])

    assert await position(database) == Position("AAPL", 100, reserved=0)


# Settlement and the ledger.


async def test_an_executed_order_takes_the_sold_shares_and_credits_the_proceeds(
    database: Database,
) -> None:
    await reserve_then(database, [executed])

    account = await portfolio(database)
    assert account.positions["AAPL"] == Position("AAPL", 90, reserved=0)
    assert account.cash == ALICE_CASH + PROCEEDS
    await assert_the_books_balance(database)


async def test_a_second_execution_of_the_same_order_moves_nothing(database: Database) -> None:
    await reserve_then(database, [executed, executed])

    account = await portfolio(database)
    assert account.positions["AAPL"].quantity == 90
    assert account.cash == ALICE_CASH + PROCEEDS


async def test_an_execution_without_a_reservation_is_a_fault_to_retry(database: Database) -> None:
    with pytest.raises(LookupError, match="o-1"):
        await executed(database)


@pytest.mark.parametrize(
    "events", list(itertools.permutations([fee_charged, executed])), ids=event_names
)
async def test_a_filled_order_costs_its_fee_and_pays_its_proceeds_in_any_order(
    database: Database, events: Sequence[Event]
) -> None:
    await reserve_then(database, events)

    assert (await portfolio(database)).cash == ALICE_CASH + PROCEEDS - FEE
    await assert_the_books_balance(database)


@pytest.mark.parametrize(
    "events",
    list(itertools.permutations([fee_charged, fee_refunded, rejected])),
    ids=event_names,
)
async def test_a_rejected_order_costs_nothing_and_holds_nothing_in_any_order(
    database: Database, events: Sequence[Event]
) -> None:
    await reserve_then(database, events)

    account = await portfolio(database)
    assert account.cash == ALICE_CASH
    assert account.positions["AAPL"] == Position("AAPL", 100, reserved=0)
    await assert_the_books_balance(database)


async def test_each_change_rewrites_only_the_position_it_changes_and_a_fee_none(
    database: Database,
) -> None:
    # A row rewritten unchanged still costs PostgreSQL a new row version and its WAL.
    await database.transact(
        lambda u: u.execute("CREATE TABLE position_writes (symbol TEXT NOT NULL)")
    )
    await database.transact(
        lambda u: u.execute(
            "CREATE TRIGGER positions_written AFTER UPDATE ON positions"
            " BEGIN INSERT INTO position_writes VALUES (NEW.symbol); END"
        )
    )

    await reserve_then(database, [fee_charged, executed])  # alice also holds MSFT

    written = await database.transact(
        lambda u: [row["symbol"] for row in u.execute("SELECT symbol FROM position_writes")]
    )
    assert written == ["AAPL", "AAPL"]  # the reserve, the settlement
    assert (await portfolio(database)).positions == {
        "AAPL": Position("AAPL", 90, reserved=0),
        "MSFT": Position("MSFT", 50, reserved=0),
    }


async def test_the_seeded_demo_accounts_balance_against_their_opening_entries(
    database: Database,
) -> None:
    await database.transact(store.seed_if_empty)  # a restart seeds nothing twice

    assert await cash_by_account(database) == {"acc-alice": ALICE_CASH, "acc-bob": 50_000}
    await assert_the_books_balance(database)
