"""One SQLite file shared by a server's threads: WAL, 30 s busy wait, mode 0600 in a 0700 dir."""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any


class Database:
    """A SQLite file whose statements run one at a time under a lock; rows are ``sqlite3.Row``."""

    def __init__(self, path: str | os.PathLike[str], *schema: str) -> None:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in schema:
            self._db.execute(statement)
        os.chmod(path, 0o600)

    def __call__(self, sql: str, args: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run one statement; its rows."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
