"""The SQLite engine when another process holds the file's write lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mesh.storage.sqlite import SqliteEngine
from mesh.storage.unit_of_work import DatabaseUnavailable, NoEvents


def test_a_write_lock_held_by_another_process_fails_the_transaction_unavailable(
    tmp_path: Path,
) -> None:
    """Someone else's lock (a person's sqlite3 shell, a backup) makes the database unavailable,
    which a consumer waits out instead of counting it toward a dead letter; once it goes, the
    next transaction commits."""
    path = tmp_path / "service.sqlite3"
    engine = SqliteEngine(path, NoEvents())
    engine.open("CREATE TABLE t (x INTEGER);")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseUnavailable, match="locked"):
            engine.run(lambda uow: uow.execute("INSERT INTO t VALUES (1)"))
        holder.execute("ROLLBACK")

        engine.run(lambda uow: uow.execute("INSERT INTO t VALUES (2)"))
        rows, _events = engine.run(lambda uow: uow.execute("SELECT x FROM t").fetchall())
        assert [tuple(row) for row in rows] == [(2,)]
    finally:
        holder.close()
        engine.close()
