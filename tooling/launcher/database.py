"""PostgreSQL for `make cluster` (and `make run --postgres`): a server of the launcher's own in
<data>/postgres on a loopback port, run as one of its children, and a role and a database per
stateful service, made on the first run and kept with the data folder (their URLs, passwords
included, in <data>/postgres/database-urls.json, readable by root only)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from mesh.topology import SERVICES
from tooling.launcher.postgres import LocalPostgres
from tooling.launcher.readiness import Check

# The gateway keeps no state.
STATEFUL = tuple(s.name for s in SERVICES if s.consumes or s.publishes)
URLS_FILE = "database-urls.json"


def server(data_dir: Path, addr: str) -> LocalPostgres:
    """The server of this data folder, on POSTGRES_ADDR's port (it listens on 127.0.0.1)."""
    return LocalPostgres(data_dir / "postgres", int(addr.rpartition(":")[2]))


def prepare(postgres: LocalPostgres) -> bool:
    """initdb on the first run; returns whether it did."""
    if (postgres.data_dir / "PG_VERSION").exists():
        return False
    postgres.init()
    return True


def accepts(postgres: LocalPostgres) -> Check:
    """The superuser can log in over the server's socket: it is past recovery and serving."""

    def check() -> bool:
        try:
            with psycopg.connect(postgres.admin_url, connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    return check


def database_urls(postgres: LocalPostgres) -> dict[str, str]:
    """Each stateful service's DATABASE_URL, its role and database made on the first run."""
    path = postgres.folder / URLS_FILE
    if path.exists():
        urls: dict[str, str] = json.loads(path.read_text())
    else:
        urls = postgres.provision(STATEFUL)
        path.touch(mode=0o600)
        path.write_text(json.dumps(urls, indent=2) + "\n")
    return {name: _on_port(url, postgres.port) for name, url in urls.items()}


def saved_urls(data_dir: Path, addr: str) -> dict[str, str]:
    """What a running `make cluster` gave each stateful service, for a reader of its data
    (chaos, tests): the file the first run wrote, on the server's port now."""
    urls: dict[str, str] = json.loads((data_dir / "postgres" / URLS_FILE).read_text())
    return {name: _on_port(url, int(addr.rpartition(":")[2])) for name, url in urls.items()}


def _on_port(url: str, port: int) -> str:
    """The URL with this run's port: POSTGRES_ADDR may have moved since the first run."""
    parts = urlsplit(url)
    credentials, _, _ = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{credentials}@127.0.0.1:{port}").geturl()
