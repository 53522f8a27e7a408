"""A PostgreSQL of our own on loopback, for tests and `make cluster`: initdb and pg_ctl in a
folder, then one role and one database per service, each role owning only its database.

PostgreSQL refuses to run as root. When this runs as root, the server runs as the system user
SYSTEM_USER (created with `useradd --system` if missing) through `runuser`, in a folder of its
own that it owns; the superuser is reached only over the Unix socket in that folder, and the
services log in over TCP on 127.0.0.1 with their own passwords (scram-sha-256).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SYSTEM_USER = "simplebank-pg"
SUPERUSER = "postgres"
START_TIMEOUT_SECONDS = 30


def _server_user() -> str | None:
    """The unprivileged user to run the server as, created if needed; None when not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
        )
    return SYSTEM_USER


@dataclass
class LocalPostgres:
    """One PostgreSQL server in `folder` on 127.0.0.1:`port` (and a socket in `folder`).

    `durable=False` turns fsync off: for tests, where a power cut loses nothing of value.
    """

    folder: Path
    port: int
    durable: bool = True

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@/postgres?host={self.folder}&port={self.port}"

    def url(self, role: str, password: str, database: str) -> str:
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{database}"

    def _as_server_user(self, args: list[str]) -> list[str]:
        user = _server_user()
        return args if user is None else ["runuser", "-u", user, "--", *args]

    def init(self) -> None:
        """initdb into a new folder (the server user owns it) and write its settings."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        user = _server_user()
        if user is not None:
            shutil.chown(self.folder, user, user)
        subprocess.run(
            self._as_server_user(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-instructions",
                ]
            ),
            check=True,
            capture_output=True,
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.folder}'",
            "max_connections": "200",
            "fsync": "on" if self.durable else "off",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", str(START_TIMEOUT_SECONDS), "-l", str(self.log_path))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` rolls back open transactions and closes every session."""
        self._pg_ctl("stop", "-w", "-m", mode)

    def server_command(self) -> list[str]:
        """postgres in the foreground, for a launcher that runs it as a child of its own. As
        root, setpriv runs it as the server user and execs (the child's pid is postgres
        itself), asking for SIGKILL when the launcher dies, which the change of user cleared."""
        args = ["postgres", "-D", str(self.data_dir), "-p", str(self.port)]
        user = _server_user()
        if user is None:
            return args
        become = [f"--reuid={user}", f"--regid={user}", "--clear-groups", "--pdeathsig=KILL"]
        return ["setpriv", *become, *args]

    def restart(self) -> None:
        self.stop()
        self.start()

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._as_server_user(["pg_ctl", "-D", str(self.data_dir), *args]),
            check=True,
            capture_output=True,
        )

    def provision(self, services: Iterable[str], prefix: str = "") -> dict[str, str]:
        """A role and a database per service (named `<prefix><service>`); returns each
        service's DATABASE_URL. The role logs in, owns its database and nothing else; other
        roles may not even connect to it."""
        urls = {}
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for service in services:
                name = f"{prefix}{service}"
                password = secrets.token_urlsafe(18)
                admin.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE"
                    ).format(sql.Identifier(name), sql.Literal(password))
                )
                admin.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(name)
                    )
                )
                admin.execute(
                    sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name))
                )
                urls[service] = self.url(name, password, name)
        return urls

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def new_folder() -> Path:
    """A private folder outside any root-only temp tree, so the server user can reach it."""
    return Path(tempfile.mkdtemp(prefix="simplebank-pg-"))
