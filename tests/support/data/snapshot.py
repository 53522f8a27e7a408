"""Every row of the mesh's four SQLite databases, read at one moment through read-only handles."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATABASES = ("orders", "accounts", "fees", "market")

Row = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """database -> table -> rows (sorted, so two snapshots of the same state are equal).

    Each database is read in one transaction, so what it shows was true at one instant; the
    four databases are read one after the other, as any reader of a distributed system must.
    """

    tables: dict[str, dict[str, list[Row]]]

    def rows(self, database: str, table: str) -> list[Row]:
        return self.tables[database][table]

    def by_order(self, database: str, table: str) -> dict[str, Row]:
        return {row["order_id"]: row for row in self.rows(database, table)}


def read_database(path: Path) -> dict[str, list[Row]]:
    # mode=ro: the test can never change what it checks, even by accident.
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)) as db:
        db.row_factory = sqlite3.Row
        db.execute("BEGIN")
        names = [
            row["name"]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        tables = {
            name: sorted((dict(row) for row in db.execute(f'SELECT * FROM "{name}"')), key=repr)
            for name in names
        }
        db.execute("COMMIT")
    return tables


def take_snapshot(data_dir: Path) -> Snapshot:
    return Snapshot({name: read_database(data_dir / f"{name}.sqlite3") for name in DATABASES})
