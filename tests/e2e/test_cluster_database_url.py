"""DATABASE_URL set, end to end: `make run --postgres` starts a PostgreSQL of its own, gives each
stateful service its database, and a sell order goes the whole way, its state in PostgreSQL and
no SQLite file made. (`make cluster` runs on the same databases; test_cluster_run.py.)"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.commands import shell
from tests.e2e.launcher import LaunchedMesh, launched_mesh
from tests.support.data.customer import FILLED
from tooling.harness.invariants import broken_at_any_moment
from tooling.harness.snapshot import DATABASES, take_snapshot
from tooling.launcher import database

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 20.0


@pytest.fixture(scope="module")
def postgres_mesh() -> Iterator[LaunchedMesh]:
    # Not under pytest's root-only temp folder: PostgreSQL's own user must reach its files.
    root = Path(tempfile.mkdtemp(prefix="simplebank-postgres-e2e-"))
    root.chmod(0o755)
    try:
        with launched_mesh(root, ["--postgres"]) as mesh:
            yield mesh
    finally:
        shell(f"rm -rf '{root}'")


def test_a_sell_order_is_filled_with_its_state_in_postgresql(postgres_mesh: LaunchedMesh) -> None:
    with postgres_mesh.customer("alice-token", "acc-alice") as alice:
        order = alice.sell("AAPL", 3)
        alice.wait_for_status(order.order_id, {FILLED}, SETTLE_SECONDS)
    ready = postgres_mesh.current()
    assert ready.postgres is not None
    urls = database.saved_urls(postgres_mesh.data_dir, ready.postgres.address)
    assert sorted(urls) == sorted(DATABASES)
    snapshot = take_snapshot(urls)

    assert snapshot.by_order("orders", "orders")[order.order_id]["status"] == "FILLED"
    assert not broken_at_any_moment(snapshot)
    assert not list(postgres_mesh.data_dir.glob("*.sqlite3"))
