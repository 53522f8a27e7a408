"""Accounts persistence: accounts, positions, reservations and the cash ledger in its database."""

from __future__ import annotations

from collections.abc import Iterable

from mesh.storage.unit_of_work import UnitOfWork, placeholders
from services.accounts.domain import (
    Account,
    AttemptState,
    LedgerEntry,
    Position,
    Reservation,
    ReservationState,
    demo_accounts,
    transfer,
)

HOUSE_OPENING = "house:opening"

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    cash BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    symbol TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    reserved BIGINT NOT NULL CHECK (reserved >= 0 AND reserved <= quantity),
    PRIMARY KEY (account_id, symbol)
);
CREATE TABLE IF NOT EXISTS reservations (
    order_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (account_id),
    symbol TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    state TEXT NOT NULL
);
-- Each try orders made at reserving: HOLDS when it made the order's hold, RELEASED once orders
-- gave it up (a reserve naming it later is refused; see handlers._reserve).
CREATE TABLE IF NOT EXISTS reserve_attempts (
    attempt_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    entry_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL
);
"""


def seed_if_empty(uow: UnitOfWork, accounts: Iterable[Account] = ()) -> None:
    """Seed a new database (the demo accounts unless told otherwise); opening balances go
    through the ledger like all cash. Replicas starting together seed each account once: the
    second insert waits for the first's commit, then adds nothing."""
    if uow.execute("SELECT 1 FROM accounts LIMIT 1").fetchone():
        return
    for account in list(accounts) or demo_accounts():
        opened = uow.execute(
            "INSERT INTO accounts VALUES (?, ?, ?) ON CONFLICT (account_id) DO NOTHING",
            (account.account_id, account.customer_id, account.cash),
        )
        if opened.rowcount != 1:
            continue
        save_positions(uow, account.account_id, account.positions.values())
        add_entries(
            uow,
            transfer(
                f"{account.account_id}:opening",
                HOUSE_OPENING,
                account.account_id,
                account.cash,
                "",
                "opening",
            ),
        )


def get_account(
    uow: UnitOfWork, account_id: str, lock: bool = False, positions: bool = True
) -> Account | None:
    """The account with its positions; `lock`: locked first, for a change to it; `positions`
    False: without them, for a change to its cash only (a fee), one statement less.

    Every change to an account's cash, positions or reservations is made under its row's lock
    (reserve, release, settle, fees), so what is read after the lock stays true until commit.
    """
    select = "SELECT account_id, customer_id, cash FROM accounts WHERE account_id = ?"
    row = (uow.lock if lock else uow.execute)(select, (account_id,)).fetchone()
    if row is None:
        return None
    account = Account(row["account_id"], row["customer_id"], row["cash"])
    if positions:
        account.positions = {
            p["symbol"]: Position(p["symbol"], p["quantity"], p["reserved"])
            for p in uow.execute(
                "SELECT symbol, quantity, reserved FROM positions WHERE account_id = ?"
                " ORDER BY symbol",
                (account_id,),
            )
        }
    return account


def save_cash(uow: UnitOfWork, account: Account) -> None:
    uow.execute(
        "UPDATE accounts SET cash = ? WHERE account_id = ?", (account.cash, account.account_id)
    )


def save_position(uow: UnitOfWork, account: Account, symbol: str) -> None:
    """Write one position back: a change touches one, and its row alone is rewritten."""
    save_positions(uow, account.account_id, [account.positions[symbol]])


def save_positions(uow: UnitOfWork, account_id: str, positions: Iterable[Position]) -> None:
    uow.executemany(
        "INSERT INTO positions VALUES (?, ?, ?, ?) ON CONFLICT (account_id, symbol)"
        " DO UPDATE SET quantity = excluded.quantity, reserved = excluded.reserved",
        [(account_id, p.symbol, p.quantity, p.reserved) for p in positions],
    )


def get_reservation(uow: UnitOfWork, order_id: str) -> Reservation | None:
    row = uow.execute(
        "SELECT order_id, account_id, symbol, quantity, state FROM reservations WHERE order_id = ?",
        (order_id,),
    ).fetchone()
    if row is None:
        return None
    return Reservation(
        row["order_id"],
        row["account_id"],
        row["symbol"],
        row["quantity"],
        ReservationState(row["state"]),
    )


def save_reservation(uow: UnitOfWork, reservation: Reservation) -> None:
    uow.execute(
        "INSERT INTO reservations VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (order_id) DO UPDATE SET account_id = excluded.account_id,"
        " symbol = excluded.symbol, quantity = excluded.quantity, state = excluded.state",
        (
            reservation.order_id,
            reservation.account_id,
            reservation.symbol,
            reservation.quantity,
            reservation.state.value,
        ),
    )


def get_attempt(uow: UnitOfWork, attempt_id: str) -> AttemptState | None:
    row = uow.execute(
        "SELECT state FROM reserve_attempts WHERE attempt_id = ?", (attempt_id,)
    ).fetchone()
    return None if row is None else AttemptState(row["state"])


def claim_attempt(uow: UnitOfWork, attempt_id: str, order_id: str, state: AttemptState) -> bool:
    """Record an attempt in `state` if it is not recorded yet; False if it was (then it is as
    it was). A reserve and a release of one attempt meet here: the second waits on the first's
    uncommitted row, then finds it."""
    inserted = uow.execute(
        "INSERT INTO reserve_attempts VALUES (?, ?, ?) ON CONFLICT (attempt_id) DO NOTHING",
        (attempt_id, order_id, state.value),
    )
    return inserted.rowcount == 1


def give_up_attempt(uow: UnitOfWork, attempt_id: str) -> bool:
    """Mark an attempt that holds shares RELEASED; False if it did not hold them."""
    updated = uow.execute(
        "UPDATE reserve_attempts SET state = ? WHERE attempt_id = ? AND state = ?",
        (AttemptState.RELEASED.value, attempt_id, AttemptState.HOLDS.value),
    )
    return updated.rowcount == 1


def forget_attempt(uow: UnitOfWork, attempt_id: str) -> None:
    uow.execute("DELETE FROM reserve_attempts WHERE attempt_id = ?", (attempt_id,))


def add_entries(uow: UnitOfWork, entries: Iterable[LedgerEntry]) -> None:
    """Append ledger entries in one statement (a transfer's two: one round trip, where
    executemany would pipeline two)."""
    rows = [(e.entry_id, e.account, e.amount, e.order_id, e.kind) for e in entries]
    if not rows:
        return
    uow.execute(
        f"INSERT INTO ledger VALUES {placeholders(len(rows), 5)}",
        [value for row in rows for value in row],
    )
