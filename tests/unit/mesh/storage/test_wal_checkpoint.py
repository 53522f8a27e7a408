"""The WAL checkpointer runs after commits, and not at all while nothing is written."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from mesh.storage.sqlite import SqliteEngine
from mesh.storage.unit_of_work import NoEvents
from mesh.storage.wal_checkpoint import INTERVAL_SECONDS, WalCheckpointer

INTERVAL = 0.01


def wal_file(tmp_path: Path) -> str:
    path = tmp_path / "service.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x INTEGER)")
    return str(path)


def wait_for(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(INTERVAL)
    return False


def test_nothing_written_means_no_checkpoint(tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(wal_file(tmp_path), interval=INTERVAL)
    checkpointer.start()
    try:
        time.sleep(30 * INTERVAL)  # thirty intervals that would each have checkpointed before
        assert checkpointer.checkpoints == 0
    finally:
        checkpointer.stop()


def test_a_commit_is_checkpointed_once_after_it(tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(wal_file(tmp_path), interval=INTERVAL)
    checkpointer.start()
    try:
        checkpointer.written()
        checkpointer.written()  # two commits close together: one checkpoint
        assert wait_for(lambda: checkpointer.checkpoints >= 1)
        time.sleep(10 * INTERVAL)
        assert checkpointer.checkpoints == 1
    finally:
        checkpointer.stop()


def test_stop_ends_the_thread_while_it_waits_for_a_commit(tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(wal_file(tmp_path), interval=3600.0)
    checkpointer.start()
    stopping = threading.Thread(target=checkpointer.stop)
    stopping.start()
    stopping.join(timeout=60)  # a hang detector, not a measurement
    assert not stopping.is_alive()


def test_only_a_transaction_that_wrote_wakes_the_checkpointer(tmp_path: Path) -> None:
    """The health check reads every second: a read must not cost a checkpoint."""
    engine = SqliteEngine(tmp_path / "service.sqlite3", NoEvents())
    engine.open("CREATE TABLE t (x INTEGER);")
    try:
        checkpointer = engine._checkpointer
        assert checkpointer is not None
        for _ in range(3):
            engine.run(lambda uow: uow.execute("SELECT count(*) FROM t").fetchone(), read_only=True)
        time.sleep(2 * INTERVAL_SECONDS)
        assert checkpointer.checkpoints == 0

        engine.run(lambda uow: uow.execute("INSERT INTO t VALUES (1)"))
        assert wait_for(lambda: checkpointer.checkpoints == 1, seconds=10 * INTERVAL_SECONDS)
    finally:
        engine.close()
