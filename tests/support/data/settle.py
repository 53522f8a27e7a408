"""Waiting for the mesh to go quiet, checking the invariants all the way there."""

from __future__ import annotations

import json

import pytest

from tests.support.polling import poll
from tests.support.servers.mesh import Mesh
from tooling.harness.invariants import broken_at_any_moment, not_settled
from tooling.harness.snapshot import Snapshot, take_snapshot

POLL_SECONDS = 0.1


def settle(mesh: Mesh, timeout: float = 15.0) -> Snapshot:
    """Poll the databases until every event has been delivered and every service agrees.

    The always-invariants are checked on every snapshot on the way, so a moment in which
    shares or cash went missing fails the test even if a later event would hide it.
    """

    def checked() -> tuple[Snapshot, list[str]]:
        snapshot = take_snapshot(mesh.databases)
        broken = broken_at_any_moment(snapshot)
        if broken:
            pytest.fail("invariant broken:\n" + "\n".join(broken), pytrace=False)
        return snapshot, not_settled(snapshot)

    snapshot, pending = poll(
        checked, lambda seen: not seen[1], timeout, "settled", POLL_SECONDS, or_last=True
    )
    if pending:
        pytest.fail(
            f"not settled after {timeout}s:\n" + "\n".join(pending) + "\n" + mesh.logs(),
            pytrace=False,
        )
    dead_letters = [_summary(line) for line in mesh.log_lines_with('"event dead-lettered"')]
    assert not dead_letters, "events were dead-lettered:\n" + "\n".join(dead_letters)
    return snapshot


def _summary(log_line: str) -> str:
    """service, event and the error's last line, out of one JSON log line."""
    record = json.loads(log_line)
    error = str(record.get("exception", "")).strip().splitlines()[-1:]
    return f"{record['service']}: {record.get('event_id')} ({' '.join(error)})"
