"""SQLite connections as the catalog and the conversation store use them: WAL, autocommit, shared across threads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import StoreError


def connect(path: Path) -> sqlite3.Connection:
    """A plain connection (explicit transactions, usable from any thread, waits up to 30 s for a lock)."""
    return sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)


def connect_wal(path: Path) -> sqlite3.Connection:
    """A connection that switches the file to WAL: readers never block the writer, and no fsync per commit
    (``synchronous=NORMAL``: a power cut may lose the last commits, never consistency)."""
    db = connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


class SharedConnection:
    """One connection used by one thread at a time. ``close`` waits for the use in progress (closing a connection
    under a running query crashes the process); a use after it raises :class:`StoreError` naming ``what``."""

    def __init__(self, db: sqlite3.Connection, what: str) -> None:
        self._db = db
        self._what = what
        self._lock = threading.RLock()  # re-entrant: a transaction may read settings through the same connection
        self._closed = False
        self.commits = 0
        """Transactions committed through :meth:`transaction` (``PRAGMA data_version`` counts only other
        connections' commits)."""

    @contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread until the block ends."""
        with self._lock:
            if self._closed:
                raise StoreError(f"the {self._what} is closed")
            yield self._db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one write transaction (``BEGIN IMMEDIATE``): everything in the block commits
        together, or is rolled back when the block raises."""
        with self.use() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self.commits += 1

    def close(self) -> None:
        """Close the connection once the use in progress ends; later uses raise :class:`StoreError`."""
        with self._lock:
            self._closed = True
            self._db.close()
