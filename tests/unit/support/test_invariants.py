"""tooling/harness/invariants.py finds each kind of broken or unsettled state the flow tests
rely on it to find, and none in a consistent one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tooling.harness.invariants import broken_at_any_moment, not_settled
from tooling.harness.snapshot import Row, Snapshot

ORDER = "order-1"
FEE, PROCEEDS = 290, 190_000


def entry(entry_id: str, account: str, amount: int, kind: str, order_id: str = ORDER) -> Row:
    return {
        "entry_id": entry_id,
        "account": account,
        "amount": amount,
        "order_id": order_id,
        "kind": kind,
    }


def transfer(prefix: str, debit: str, credit: str, amount: int, kind: str) -> list[Row]:
    order_id = ORDER if kind != "opening" else ""
    return [
        entry(f"{prefix}:debit", debit, -amount, kind, order_id),
        entry(f"{prefix}:credit", credit, amount, kind, order_id),
    ]


def filled_order() -> Snapshot:
    """The databases after alice sold 10 AAPL: filled, charged once, every service agreeing."""
    alice_cash = 1_000_000 + PROCEEDS - FEE
    return Snapshot(
        {
            "orders": {
                "orders": [
                    {"order_id": ORDER, "status": "FILLED", "fee": FEE, "proceeds": PROCEEDS}
                ],
                "outbox": [],
                "processed_events": [{"consumer": "orders-OrderPlaced", "event_id": "e1"}],
                "placements": [],
            },
            "accounts": {
                "accounts": [
                    {"account_id": "acc-alice", "cash": alice_cash},
                    {"account_id": "acc-bob", "cash": 50_000},
                ],
                "positions": [
                    {"account_id": "acc-alice", "symbol": "AAPL", "quantity": 90, "reserved": 0},
                    {"account_id": "acc-alice", "symbol": "MSFT", "quantity": 50, "reserved": 0},
                    {"account_id": "acc-bob", "symbol": "GOOG", "quantity": 20, "reserved": 0},
                ],
                "reservations": [
                    {
                        "order_id": ORDER,
                        "account_id": "acc-alice",
                        "symbol": "AAPL",
                        "quantity": 10,
                        "state": "SETTLED",
                    }
                ],
                "ledger": [
                    *transfer("a:opening", "house:opening", "acc-alice", 1_000_000, "opening"),
                    *transfer("b:opening", "house:opening", "acc-bob", 50_000, "opening"),
                    *transfer("o:proceeds", "house:market", "acc-alice", PROCEEDS, "proceeds"),
                    *transfer("o:fee", "acc-alice", "house:fees", FEE, "fee"),
                ],
                "processed_events": [],
            },
            "fees": {
                "order_fees": [{"order_id": ORDER, "amount": FEE, "state": "CHARGED"}],
                "outbox": [],
                "processed_events": [],
            },
            "market": {
                "book": [{"order_id": ORDER, "state": "EXECUTED"}],
                "outbox": [],
                "processed_events": [],
            },
        }
    )


def changed(change: Callable[[dict[str, dict[str, list[Row]]]], Any]) -> Snapshot:
    tables = copy.deepcopy(filled_order().tables)
    change(tables)
    return Snapshot(tables)


def test_a_consistent_snapshot_is_settled_and_breaks_nothing() -> None:
    assert broken_at_any_moment(filled_order()) == []
    assert not_settled(filled_order()) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda t: t["accounts"]["positions"][0].update(quantity=89), "seeded"),
        (lambda t: t["accounts"]["positions"][0].update(reserved=1), "HELD"),
        (lambda t: t["accounts"]["accounts"][0].update(cash=1), "ledger balance"),
        (lambda t: t["accounts"]["ledger"].pop(), "sums to"),
        (
            lambda t: t["accounts"]["ledger"].extend(
                transfer("o:fee-again", "acc-alice", "house:fees", FEE, "fee")
            ),
            "charged fees",
        ),
        (
            lambda t: t["accounts"]["ledger"].extend(
                transfer("o:again", "house:market", "acc-alice", PROCEEDS, "proceeds")
            ),
            "credited proceeds 2 times",
        ),
        (
            lambda t: t["orders"]["processed_events"].append(
                {"consumer": "orders-OrderPlaced", "event_id": "e1"}
            ),
            "stored 2 times",
        ),
    ],
)
def test_a_broken_invariant_is_reported(
    change: Callable[[dict[str, dict[str, list[Row]]]], Any], complaint: str
) -> None:
    assert complaint in "\n".join(broken_at_any_moment(changed(change)))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda t: t["orders"]["orders"][0].update(status="PLACED"), "still PLACED"),
        (lambda t: t["fees"]["outbox"].append({}), "fees outbox"),
        (lambda t: t["accounts"]["reservations"][0].update(state="HELD"), "reservation is HELD"),
        (lambda t: t["market"]["book"][0].update(state="OPEN"), "market book is OPEN"),
        (lambda t: t["fees"]["order_fees"][0].update(state="REFUNDED"), "fees net fee is 0"),
        (lambda t: t["orders"]["orders"][0].update(fee=0), "ledger net fee"),
        (lambda t: t["orders"]["orders"][0].update(proceeds=1), "ledger proceeds"),
        (
            lambda t: t["accounts"]["reservations"].append(
                dict(order_id="x", account_id="acc-bob", symbol="GOOG", quantity=0, state="HELD")
            ),
            "orders has no such order",
        ),
        (
            lambda t: t["orders"]["placements"].append(dict(order_id="x", attempt_id="a")),
            "order x is still being placed",
        ),
    ],
)
def test_an_unsettled_or_disagreeing_state_is_reported(
    change: Callable[[dict[str, dict[str, list[Row]]]], Any], complaint: str
) -> None:
    assert complaint in "\n".join(not_settled(changed(change)))
