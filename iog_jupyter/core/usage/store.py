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
from collections.abc import Iterable, Mapping
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
        is its newest minute in the window. One pass over the window's rows (the sums and each
        holder's newest minute), then that minute's row by its key.
        """
        sums = ", ".join(f"sum({c}) AS {c}" for c in _SUMMED)
        query = (
            "SELECT n.minute, n.holder, n.kind, n.label, n.user, n.submission_id, "
            f"{', '.join(f't.{c}' for c in _SUMMED)}, t.max_gpus, t.first_ms, t.last_ms "
            f"FROM (SELECT holder, max(minute) AS newest, {sums}, max(max_gpus) AS max_gpus, "
            "min(first_ms) AS first_ms, max(last_ms) AS last_ms FROM usage_buckets "
            "WHERE minute >= ? AND minute < ? GROUP BY holder) t "
            "JOIN usage_buckets n ON n.minute = t.newest AND n.holder = t.holder"
        )
        return [Bucket(*row) for row in self._db(query, _minutes(since_ms, until_ms))]

    def held_by_group(
        self, since_ms: int, until_ms: int, group_of: Mapping[str, str]
    ) -> dict[str, float]:
        """Seconds each group held any GPU in the window: per minute, its longest holder's.

        ``group_of`` maps each holder to its group (a temporary table holds it for the query);
        a holder not in it is left out. A user's two sessions holding one GPU each through the
        same hour held GPUs for an hour, not two (exact when their holding overlaps within each
        minute, a lower bound otherwise).
        """
        query = (
            "SELECT grp, sum(held) FROM (SELECT g.grp, b.minute, max(b.gpu_held_s) AS held "
            "FROM usage_buckets b JOIN temp.usage_groups g ON g.holder = b.holder "
            "WHERE b.minute >= ? AND b.minute < ? AND b.gpu_held_s > 0 "
            "GROUP BY g.grp, b.minute) GROUP BY grp"
        )
        with self._db.transaction() as db:
            db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS usage_groups "
                "(holder TEXT PRIMARY KEY, grp TEXT NOT NULL)"
            )
            db.execute("DELETE FROM temp.usage_groups")
            db.executemany("INSERT INTO temp.usage_groups VALUES (?, ?)", group_of.items())
            return dict(db.execute(query, _minutes(since_ms, until_ms)).fetchall())

    def close(self) -> None:
        """Close the database."""
        self._db.close()
