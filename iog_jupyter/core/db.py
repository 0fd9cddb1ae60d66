"""One SQLite file shared by a server's threads: WAL, 30 s busy wait, mode 0600 in a 0700 dir."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Database:
    """A SQLite file whose statements run one at a time under a lock; rows are ``sqlite3.Row``.

    ``read_only`` opens an existing file as it is, for a reader beside the server that writes
    it (``iog usage`` in local mode): no schema, no mode change, and no statement that writes.

    Raises:
        sqlite3.Error: the file cannot be opened (``read_only``: also when it is missing).
    """

    def __init__(self, path: str | os.PathLike[str], *schema: str, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        if not read_only:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        # A read-only open is a URI (mode=ro); as_uri() escapes the path's '?', '#' and '%'.
        target = Path(path).absolute().as_uri() + "?mode=ro" if read_only else path
        self._db = sqlite3.connect(
            target,
            uri=read_only,
            timeout=30,
            isolation_level=None,
            check_same_thread=False,
        )
        self._db.row_factory = sqlite3.Row
        if not read_only:
            self._db.execute("PRAGMA journal_mode=WAL")
            for statement in schema:
                self._db.execute(statement)
            os.chmod(path, 0o600)

    def __call__(self, sql: str, args: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run one statement; its rows."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, for statements that commit together.

        They commit when the block ends, or roll back on any exception it raises.
        """
        with self._lock, self._db:
            self._db.execute("BEGIN")
            yield self._db

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
