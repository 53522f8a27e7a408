"""Every row of the mesh's four databases (SQLite files or PostgreSQL databases), each read at
one moment through a read-only transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from mesh.storage.database import is_postgres

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


def read_database(location: Path | str) -> dict[str, list[Row]]:
    """Every table of one database, by name, rows sorted."""
    if is_postgres(location):
        return _read_postgres(str(location))
    return _read_sqlite(Path(location))


def _read_postgres(url: str) -> dict[str, list[Row]]:
    with psycopg.connect(url, row_factory=dict_row) as db:
        db.read_only = True
        db.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        names = [
            row["table_name"]
            for row in db.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        return {
            name: sorted((dict(row) for row in db.execute(f'SELECT * FROM "{name}"')), key=repr)
            for name in names
        }


def _read_sqlite(path: Path) -> dict[str, list[Row]]:
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


def sqlite_files(data_dir: Path) -> dict[str, Path | str]:
    """Where each stateful service keeps its state in a data folder of SQLite files."""
    return {name: data_dir / f"{name}.sqlite3" for name in DATABASES}


def take_snapshot(databases: Mapping[str, Path | str]) -> Snapshot:
    """Read every service's database: `databases` maps a service to its file or URL."""
    return Snapshot({name: read_database(databases[name]) for name in DATABASES})
