"""What must hold after chaos: the mesh's invariants (tooling/harness/invariants.py, the same
checks the flow tests use), on snapshots taken during the run and once it has settled."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.harness.invariants import ALWAYS, not_settled
from tooling.harness.snapshot import Snapshot, take_snapshot

Databases = Mapping[str, Path | str]  # service -> its SQLite file or PostgreSQL URL

FINAL = ("FILLED", "REJECTED")


@dataclass(frozen=True)
class Check:
    name: str
    problems: list[str]

    @property
    def held(self) -> bool:
        return not self.problems


class Watch:
    """The always-invariants on every snapshot taken while chaos runs."""

    def __init__(self, databases: Databases) -> None:
        self._databases = databases
        self.snapshots = 0
        self.problems: dict[str, list[str]] = {name: [] for name in ALWAYS}

    def look(self) -> None:
        snapshot = take_snapshot(self._databases)
        self.snapshots += 1
        for name, check in ALWAYS.items():
            self.problems[name] += check(snapshot)


def settle(databases: Databases, timeout: float) -> tuple[Snapshot, list[str]]:
    """The first snapshot with nothing in flight, or the last one and what was still pending."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = take_snapshot(databases)
        pending = not_settled(snapshot)
        if not pending or time.monotonic() > deadline:
            return snapshot, pending
        time.sleep(0.5)


def final_checks(
    watch: Watch, snapshot: Snapshot, pending: list[str], accepted: list[str], log_dir: Path
) -> list[Check]:
    orders = snapshot.by_order("orders", "orders")
    # Moves into a final state: rows after one (a fee recorded later) keep the final status.
    history = sorted(
        snapshot.rows("orders", "order_history"), key=lambda r: (r["order_id"], r["seq"])
    )
    finals = Counter(
        row["order_id"]
        for before, row in zip([None, *history], history, strict=False)
        if row["status"] in FINAL
        and (
            before is None or before["order_id"] != row["order_id"] or before["status"] not in FINAL
        )
    )
    reached = [
        f"accepted order {o} is {orders[o]['status'] if o in orders else 'missing'}"
        for o in accepted
        if o not in orders or orders[o]["status"] not in FINAL
    ]
    reached += [f"order {o} reached a final state {n} times" for o, n in finals.items() if n != 1]
    reserved = [
        f"{p['account_id']} {p['symbol']}: {p['reserved']} reserved"
        for p in snapshot.rows("accounts", "positions")
        if p["reserved"]
    ]
    dead = [
        f"{path.stem}: {line[:160]}"
        for path in sorted(log_dir.glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if '"event dead-lettered"' in line
    ]
    return [
        Check("every accepted order final exactly once", reached),
        *(Check(name, watch.problems[name] + check(snapshot)) for name, check in ALWAYS.items()),
        Check("nothing reserved, nothing in flight", reserved + pending),
        Check("no event dead-lettered", dead),
    ]
