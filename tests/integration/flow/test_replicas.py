"""Two replicas of every stateful service on PostgreSQL, sharing their databases and durable
consumers: every order settles, each event is applied by exactly one replica, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh.events.durables import inbox_key
from tests.support.data.customer import FINAL, Customer
from tests.support.data.messages import processed
from tests.support.data.settle import settle
from tests.support.polling import poll
from tests.support.servers.mesh import Mesh, MeshOptions, run_mesh
from tests.support.servers.postgres import STATEFUL, fresh_databases
from tooling.launcher.postgres import LocalPostgres

pytestmark = pytest.mark.integration

ORDERS = 12
SETTLE_SECONDS = 30.0


@pytest.fixture
def mesh(tmp_path: Path, postgres: LocalPostgres) -> Iterator[Mesh]:
    """On PostgreSQL only: replicas share a database, and a SQLite file has one process."""
    options = MeshOptions(halted_symbols="GOOG", database_urls=fresh_databases(postgres, STATEFUL))
    with run_mesh(tmp_path, options) as running:
        yield running


def applied_by(mesh: Mesh, key: str) -> Counter[str]:
    """How many events of each kind the process `key` applied, from its metrics, by inbox key
    (`<service>-<Event>`: its durable's name, the `consumer` label, and the `event` label)."""
    applied: Counter[str] = Counter()
    for (consumer, event, outcome), count in processed(mesh.metrics_addr(key)).items():
        if outcome == "applied":
            applied[inbox_key(consumer, event)] += count
    return applied


def test_two_replicas_of_each_service_apply_every_event_exactly_once(
    mesh: Mesh, alice: Customer, bob: Customer
) -> None:
    replicas = [mesh.start_replica(name) for name in STATEFUL]

    sellers = [alice] * (ORDERS - 2) + [bob] * 2  # bob's GOOG is halted: rejections too
    placed = [(c, c.sell("AAPL" if c is alice else "GOOG", 1)) for c in sellers]
    for customer, order in placed:
        customer.wait_for_status(order.order_id, FINAL, SETTLE_SECONDS)
    settle(mesh, SETTLE_SECONDS)

    def counted() -> tuple[dict[str, Counter[str]], Counter[str], Counter[str]]:
        """What each process says it applied, and what the databases recorded, read together:
        an event still in flight (a refund can overtake its fee) is counted once it lands."""
        per_process = {key: applied_by(mesh, key) for key in [*STATEFUL, *replicas]}
        snapshot = settle(mesh, SETTLE_SECONDS)
        recorded = Counter(
            row["consumer"] for name in STATEFUL for row in snapshot.rows(name, "processed_events")
        )
        return per_process, sum(per_process.values(), Counter()), recorded

    per_process, applied, recorded = poll(
        counted, lambda c: c[1] == c[2], SETTLE_SECONDS, "applied == recorded", 0.5, or_last=True
    )
    assert applied == recorded, f"applied per process: {per_process}"
    print("events applied per process:", {k: sum(v.values()) for k, v in per_process.items()})
