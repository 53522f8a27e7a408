"""WAL checkpoints of a SQLite file on a thread of their own, so they never stall the event loop."""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5


class WalCheckpointer:
    """Copies the write-ahead log back into the database file at most every `interval` seconds,
    and only after commits (`written`): an idle service's thread sleeps until the next one.

    The service's own connection runs with wal_autocheckpoint=0: its commits only append to the
    WAL (no fsync with synchronous=NORMAL), which takes microseconds, while a checkpoint writes
    and fsyncs pages and can take milliseconds. A PASSIVE checkpoint from this second
    connection never waits for, nor blocks, the writer; once it has copied everything, the
    writer's next transaction starts the WAL from the beginning again, so it stays small.
    """

    def __init__(self, path: str, interval: float = INTERVAL_SECONDS) -> None:
        self._path = path
        self._interval = interval
        self._stopping = threading.Event()
        self._written = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # made so far, for reading

    def written(self) -> None:
        """A transaction committed: its pages wait in the WAL for the next checkpoint."""
        if not self._written.is_set():  # a plain read; setting takes a lock
            self._written.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        try:
            while True:
                self._written.wait()
                if self._stopping.wait(self._interval):  # commits made meanwhile join this one
                    break
                self._written.clear()
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as error:  # the next round tries again; say why
                    log.warning("WAL checkpoint failed", extra={"error": repr(error)})
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the thread (it closes its connection); the owner's close checkpoints the rest."""
        self._stopping.set()
        self._written.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
