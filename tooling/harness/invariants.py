"""The mesh's invariants (shares conserved, the cash ledger balanced, at most one net fee an
order, each event applied once), checked on a Snapshot: some hold at every moment, some once the
events in flight have all been delivered (each service's database is only eventually in step)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from tooling.harness.snapshot import Row, Snapshot

# The demo data docs/configuration.md lists, written out again here so the services' seeding is
# checked too.
SEEDED_SHARES = {("acc-alice", "AAPL"): 100, ("acc-alice", "MSFT"): 50, ("acc-bob", "GOOG"): 20}
SEEDED_CASH = {"acc-alice": 1_000_000, "acc-bob": 50_000}
OUTBOXES = ("orders", "fees", "market")


def broken_at_any_moment(snapshot: Snapshot) -> list[str]:
    """What must never be seen, crashes and redeliveries included."""
    return [problem for check in ALWAYS.values() for problem in check(snapshot)]


def not_settled(snapshot: Snapshot) -> list[str]:
    """What is still in flight, or disagrees between services once nothing is in flight."""
    problems = [
        f"{name} outbox still holds {len(snapshot.rows(name, 'outbox'))} event(s)"
        for name in OUTBOXES
        if snapshot.rows(name, "outbox")
    ]
    problems += [
        f"order {p['order_id']} is still being placed (attempt {p['attempt_id']})"
        for p in snapshot.rows("orders", "placements")
    ]
    for order in snapshot.rows("orders", "orders"):
        problems += _order_disagreements(snapshot, order)
    orders = snapshot.by_order("orders", "orders")
    problems += [
        f"reservation for {r['order_id']} is HELD but orders has no such order"
        for r in snapshot.rows("accounts", "reservations")
        if r["state"] == "HELD" and r["order_id"] not in orders
    ]
    return problems


def net_fee(snapshot: Snapshot, order_id: str) -> int:
    """What the customer's ledger was charged, net of refunds, for one order."""
    return -sum(
        int(e["amount"]) for e in _customer_entries(snapshot, order_id, "fee", "fee_refund")
    )


def proceeds(snapshot: Snapshot, order_id: str) -> int:
    return sum(int(e["amount"]) for e in _customer_entries(snapshot, order_id, "proceeds"))


def _customer_entries(snapshot: Snapshot, order_id: str, *kinds: str) -> Iterable[Row]:
    return (
        e
        for e in snapshot.rows("accounts", "ledger")
        if e["order_id"] == order_id
        and e["kind"] in kinds
        and not e["account"].startswith("house:")
    )


def _shares_not_conserved(snapshot: Snapshot) -> list[str]:
    sold: Counter[tuple[str, str]] = Counter()
    held: Counter[tuple[str, str]] = Counter()
    for r in snapshot.rows("accounts", "reservations"):
        key = (r["account_id"], r["symbol"])
        if r["state"] == "SETTLED":
            sold[key] += r["quantity"]
        elif r["state"] == "HELD":
            held[key] += r["quantity"]
    positions = {(p["account_id"], p["symbol"]): p for p in snapshot.rows("accounts", "positions")}
    problems = []
    for key in SEEDED_SHARES.keys() | positions.keys():
        position = positions.get(key, {"quantity": 0, "reserved": 0})
        if position["quantity"] + sold[key] != SEEDED_SHARES.get(key, 0):
            problems.append(
                f"{key}: {position['quantity']} held + {sold[key]} sold"
                f" != {SEEDED_SHARES.get(key, 0)} seeded"
            )
        if position["reserved"] != held[key]:
            problems.append(f"{key}: reserved {position['reserved']} != {held[key]} in HELD")
    return problems


def _ledger_out_of_balance(snapshot: Snapshot) -> list[str]:
    balances: Counter[str] = Counter()
    for entry in snapshot.rows("accounts", "ledger"):
        balances[entry["account"]] += entry["amount"]
    problems = [f"the ledger sums to {balances.total()}, not 0"] if balances.total() else []
    for account in snapshot.rows("accounts", "accounts"):
        if account["cash"] != balances[account["account_id"]]:
            problems.append(
                f"{account['account_id']}: cash {account['cash']}"
                f" != ledger balance {balances[account['account_id']]}"
            )
    if balances["house:opening"] != -sum(SEEDED_CASH.values()):
        problems.append(f"opening balances {-balances['house:opening']} != seeded cash")
    return problems


def _more_than_one_fee_or_proceeds(snapshot: Snapshot) -> list[str]:
    charges: defaultdict[str, list[int]] = defaultdict(list)
    credits: Counter[str] = Counter()
    for e in snapshot.rows("accounts", "ledger"):
        if e["account"].startswith("house:"):
            continue
        if e["kind"] == "fee":
            charges[e["order_id"]].append(-e["amount"])
        elif e["kind"] == "proceeds":
            credits[e["order_id"]] += 1
    problems = [f"order {o} charged fees {c}" for o, c in charges.items() if len(c) > 1]
    problems += [f"order {o} credited proceeds {n} times" for o, n in credits.items() if n > 1]
    for order_id, charged in charges.items():
        if net_fee(snapshot, order_id) > max(charged):
            problems.append(f"order {order_id} net fee {net_fee(snapshot, order_id)} > one fee")
    return problems


def _applied_twice(snapshot: Snapshot) -> list[str]:
    """Storage keys make these impossible; checked anyway, since a schema change could drop them."""
    keys = {
        "ledger entry": [e["entry_id"] for e in snapshot.rows("accounts", "ledger")],
        **{
            f"{name} processed event": [
                (r["consumer"], r["event_id"]) for r in snapshot.rows(name, "processed_events")
            ]
            for name in ("orders", "accounts", "fees", "market")
        },
    }
    return [
        f"{what} {key} stored {n} times"
        for what, values in keys.items()
        for key, n in Counter(values).items()
        if n > 1
    ]


def _order_disagreements(snapshot: Snapshot, order: Row) -> list[str]:
    order_id, status = order["order_id"], order["status"]
    if status not in ("FILLED", "REJECTED"):
        return [f"order {order_id} is still {status}"]
    reservation = snapshot.by_order("accounts", "reservations").get(order_id, {})
    fee_row = snapshot.by_order("fees", "order_fees").get(order_id, {})
    booked = snapshot.by_order("market", "book").get(order_id, {})
    fees_net = fee_row.get("amount", 0) if fee_row.get("state") == "CHARGED" else 0
    expected = {
        "reservation": "SETTLED" if status == "FILLED" else "RELEASED",
        "market book": "EXECUTED" if status == "FILLED" else "REJECTED",
        "ledger proceeds": order["proceeds"] if status == "FILLED" else 0,
        "ledger net fee": order["fee"],
        "fees net fee": order["fee"],
    }
    actual = {
        "reservation": reservation.get("state"),
        "market book": booked.get("state"),
        "ledger proceeds": proceeds(snapshot, order_id),
        "ledger net fee": net_fee(snapshot, order_id),
        "fees net fee": fees_net,
    }
    problems = [
        f"{status} order {order_id}: {what} is {actual[what]}, expected {expected[what]}"
        for what in expected
        if actual[what] != expected[what]
    ]
    if status == "FILLED" and (order["fee"] <= 0 or order["proceeds"] <= 0):
        problems.append(f"FILLED order {order_id} has fee {order['fee']}, {order['proceeds']}")
    if status == "REJECTED" and order["fee"] != 0:
        problems.append(f"REJECTED order {order_id} still costs a fee of {order['fee']}")
    return problems


# The invariants that hold at every moment, by name (make chaos reports each one).
ALWAYS: dict[str, Callable[[Snapshot], list[str]]] = {
    "shares conserved": _shares_not_conserved,
    "ledger balanced": _ledger_out_of_balance,
    "at most one net fee and one proceeds per order": _more_than_one_fee_or_proceeds,
    "each event applied once": _applied_twice,
}
