"""Per-minute usage buckets in SQLite (``usage.sqlite`` in the server's state dir, mode 0600).

One row per minute and holder: what it held integrated over that minute's samples (GPU-, CPU-
and memory-seconds, seconds holding a GPU, GPU-seconds with a reported utilisation and that
utilisation times them), the most GPUs it held at one sample, and when it was first and last
seen. Bounded: buckets older than ``retention_days`` go, and past ``max_rows`` the oldest
minutes go, both as it writes. Survives restarts; read-only readers (``iog usage`` in local
mode) open it with ``read_only``. Table ``usage_meta`` keeps the sample interval the server's
accountant samples at, so such readers report it too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields

from ..db import Database

_MINUTE_MS = 60_000


@dataclass
class Bucket:
    """One holder's minute: the columns of ``usage_buckets``."""

    minute: int
    holder: str
    kind: str
    label: str
    user: str | None
    submission_id: str | None
    gpu_s: float = 0.0
    cpu_s: float = 0.0
    mem_byte_s: float = 0.0
    gpu_held_s: float = 0.0
    #: Utilisation (%) x GPU-seconds, over the GPU-seconds where a node reported one.
    util_gpu_s: float = 0.0
    util_covered_gpu_s: float = 0.0
    max_gpus: float = 0.0
    first_ms: int = 0
    last_ms: int = 0


_COLUMNS = [f.name for f in fields(Bucket)]
#: The SQL type of each field's Python type (the annotations are strings: see the __future__).
_SQL_TYPES = {"int": "INTEGER NOT NULL", "float": "REAL NOT NULL", "str": "TEXT NOT NULL"}
_SCHEMA = "CREATE TABLE IF NOT EXISTS usage_buckets ({}, PRIMARY KEY (minute, holder))".format(
    ", ".join(f"{f.name} {_SQL_TYPES.get(str(f.type), 'TEXT')}" for f in fields(Bucket))
)
_META_SCHEMA = "CREATE TABLE IF NOT EXISTS usage_meta (key TEXT PRIMARY KEY, value REAL NOT NULL)"
_SUMMED = ("gpu_s", "cpu_s", "mem_byte_s", "gpu_held_s", "util_gpu_s", "util_covered_gpu_s")
_UPSERT = (
    f"INSERT INTO usage_buckets ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT (minute, holder) DO UPDATE SET kind = excluded.kind, label = excluded.label, "
    "user = coalesce(excluded.user, user), "
    "submission_id = coalesce(excluded.submission_id, submission_id), "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMMED)
    + ", max_gpus = max(max_gpus, excluded.max_gpus), first_ms = min(first_ms, excluded.first_ms),"
    " last_ms = max(last_ms, excluded.last_ms)"
)


def minute_of(t_ms: int) -> int:
    """The bucket (minutes since the epoch) that holds time ``t_ms``."""
    return t_ms // _MINUTE_MS


def _minutes(since_ms: int, until_ms: int) -> tuple[int, int]:
    """The minutes from the one holding ``since_ms`` to the first at or after ``until_ms``."""
    return minute_of(since_ms), -(-until_ms // _MINUTE_MS)


class UsageStore:
    """The buckets on disk; thread-safe. ``path`` is the SQLite file (see the module docstring).

    Raises:
        sqlite3.Error: ``read_only`` and the file cannot be opened.
    """

    def __init__(
        self,
        path: str,
        retention_days: float = 90.0,
        max_rows: int = 1_000_000,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.retention_days = retention_days
        self.max_rows = max_rows
        self._pruned_minute: int | None = None
        self._db = Database(path, _SCHEMA, _META_SCHEMA, read_only=read_only)

    def add(self, buckets: Iterable[Bucket], now_ms: int) -> None:
        """Add buckets to the stored ones (summing same minute and holder), then prune."""
        rows = [astuple(b) for b in buckets]
        with self._db.transaction() as db:
            db.executemany(_UPSERT, rows)
            self._prune(db, now_ms)

    def _prune(self, db: sqlite3.Connection, now_ms: int) -> None:
        """Drop what retention and the row cap exclude (once a minute: counting rows scans)."""
        if self._pruned_minute == minute_of(now_ms):
            return
        self._pruned_minute = minute_of(now_ms)
        oldest = minute_of(now_ms - int(self.retention_days * 86_400_000))
        db.execute("DELETE FROM usage_buckets WHERE minute < ?", (oldest,))
        (count,) = db.execute("SELECT count(*) FROM usage_buckets").fetchone()
        if count > self.max_rows:
            db.execute(
                "DELETE FROM usage_buckets WHERE rowid IN (SELECT rowid FROM usage_buckets "
                "ORDER BY minute LIMIT ?)",
                (count - self.max_rows,),
            )

    def set_sample_interval(self, seconds: float) -> None:
        """Record the interval (seconds) the accountant writing here samples at."""
        self._db("INSERT OR REPLACE INTO usage_meta VALUES ('sample_interval_s', ?)", (seconds,))

    def sample_interval_s(self) -> float:
        """The recorded sample interval in seconds (0: none, as in a store from before it was)."""
        try:
            rows = self._db("SELECT value FROM usage_meta WHERE key = 'sample_interval_s'")
        except sqlite3.OperationalError:  # no usage_meta table in an older store
            return 0.0
        return rows[0][0] if rows else 0.0

    def oldest_ms(self) -> int | None:
        """The start of the oldest stored minute (None when empty)."""
        ((minute,),) = self._db("SELECT min(minute) FROM usage_buckets")
        return None if minute is None else minute * _MINUTE_MS

    def per_holder(self, since_ms: int, until_ms: int) -> list[Bucket]:
        """Each holder's buckets from the minute of ``since_ms`` to before ``until_ms``, summed.

        ``kind``, ``label``, ``user`` and ``submission_id`` are the holder's newest; ``minute``
        is its newest minute in the window. Two passes over the window's rows (the sums, then
        each holder's newest row: SQLite takes bare columns from the row ``max()`` picked).
        """
        window = _minutes(since_ms, until_ms)
        where = "WHERE minute >= ? AND minute < ? GROUP BY holder"
        sums = ", ".join(f"sum({c})" for c in _SUMMED)
        with self._db.transaction() as db:  # one snapshot: a holder is in both passes or neither
            totals = db.execute(
                f"SELECT holder, {sums}, max(max_gpus), min(first_ms), max(last_ms) "
                f"FROM usage_buckets {where}",
                window,
            ).fetchall()
            newest = {
                row[0]: row[1:]
                for row in db.execute(
                    "SELECT holder, max(minute), kind, label, user, submission_id "
                    f"FROM usage_buckets {where}",
                    window,
                )
            }
        return [
            Bucket(*newest[row[0]][:1], row[0], *newest[row[0]][1:], *row[1:]) for row in totals
        ]

    def held_by_minute(self, since_ms: int, until_ms: int) -> list[sqlite3.Row]:
        """Rows ``(holder, minute, gpu_held_s)`` of every bucket in the window that held GPUs."""
        query = (
            "SELECT holder, minute, gpu_held_s FROM usage_buckets "
            "WHERE minute >= ? AND minute < ? AND gpu_held_s > 0"
        )
        return self._db(query, _minutes(since_ms, until_ms))

    def close(self) -> None:
        """Close the database."""
        self._db.close()
