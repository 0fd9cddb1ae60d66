"""The server's own durable record of the jobs it submitted to Ray.

Ray keeps its job table in the GCS's memory: when the head restarts, every job is gone from it,
the running ones included, and their followers would end with "No job has this id.". The
journal (SQLite in the jobs state dir, mode 0600) keeps the last record the server saw of each
job it submitted, with where its driver log was, so that:

- history survives a head restart: ended jobs are listed, got and their logs read as before;
- a job that was PENDING or RUNNING when Ray lost it is marked FAILED with that reason (and
  its driver's pid, whose process may still run on this machine), never silently dropped;
- deleting such a job deletes the journal's record.

Records are JSON of :class:`~iog_jupyter.core.wire.JobRecord`; the newest ``max_records`` are
kept.
"""

from __future__ import annotations

import threading
import time

from ..db import Database
from ..wire import TERMINAL_STATUSES, JobRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ray_jobs (
    submission_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    log_path TEXT,
    last_seen_ms INTEGER NOT NULL
)
"""

#: How long a journaled job may be missing from Ray's table before it counts as lost (a job
#: submitted a moment ago can be missing from one listing that raced with its submit).
LOST_AFTER_S = 10.0


def lost_message(record: JobRecord) -> str:
    """Why a job Ray no longer knows is FAILED, and what may still run."""
    was = record.status
    text = (
        f"Ray lost this job while it was {was}: its head restarted (or the job was removed "
        "from Ray outside iog), so its outcome is unknown."
    )
    if record.driver_pid:
        text += (
            f" Its driver process (pid {record.driver_pid}) may still run on the head; "
            f"check with `ps -p {record.driver_pid}`."
        )
    return text


class JobJournal:
    """Durable records of the jobs this server submitted, the newest ``max_records`` kept.

    ``path`` is the SQLite file (its directory is created, mode 0700); see the module docstring.
    """

    def __init__(self, path: str, max_records: int = 10_000) -> None:
        self.max_records = max_records
        self._lock = threading.Lock()
        self._db = Database(path, _SCHEMA)
        rows = self._db("SELECT record, log_path, last_seen_ms FROM ray_jobs")
        #: submission id -> (record, log path, last time seen in Ray's table), all in memory.
        self._records: dict[str, tuple[JobRecord, str | None, int]] = {
            (r := JobRecord.model_validate_json(text)).submission_id: (r, log_path, seen)
            for text, log_path, seen in rows
        }

    def __contains__(self, submission_id: str) -> bool:
        with self._lock:
            return submission_id in self._records

    def ids(self) -> list[str]:
        """Every journaled submission id."""
        with self._lock:
            return list(self._records)

    def get(self, submission_id: str) -> JobRecord | None:
        """The last record seen of a journaled job (None when it is not journaled)."""
        with self._lock:
            entry = self._records.get(submission_id)
        return entry[0].model_copy() if entry else None

    def log_path(self, submission_id: str) -> str | None:
        """Where the job's driver log was last seen on this machine."""
        with self._lock:
            entry = self._records.get(submission_id)
        return entry[1] if entry else None

    def observe(self, record: JobRecord, log_path: str | None = None) -> None:
        """Keep what Ray just said of a journaled job (a submit journals a new one)."""
        now = int(time.time() * 1000)
        with self._lock:
            old = self._records.get(record.submission_id)
            if old is not None and record.driver_pid is None:
                record = record.model_copy(update={"driver_pid": old[0].driver_pid})
            log_path = log_path or (old[1] if old else None)
            changed = old is None or old[0] != record or old[1] != log_path
            self._records[record.submission_id] = (record, log_path, now)
            stale = old is not None and now - old[2] > LOST_AFTER_S * 1000 / 2
            if changed or (stale and record.status not in TERMINAL_STATUSES):
                self._write(record, log_path, now)
        if old is None:
            self._prune()

    def remember_log(self, submission_id: str, log_path: str) -> None:
        """Keep where a journaled job's driver log is on this machine."""
        with self._lock:
            entry = self._records.get(submission_id)
            if entry is None or entry[1] == log_path:
                return
            self._records[submission_id] = (entry[0], log_path, entry[2])
            self._write(entry[0], log_path, entry[2])

    def lost(self, present: set[str], now_ms: int | None = None) -> list[JobRecord]:
        """The journaled jobs missing from ``present`` (the ids in Ray's table now), as they stand.

        An unfinished one unseen for :data:`LOST_AFTER_S` becomes FAILED (lost); one seen since
        is left out. ``now_ms`` is for tests.
        """
        now = now_ms or int(time.time() * 1000)
        out = []
        with self._lock:
            missing = [(sid, e) for sid, e in self._records.items() if sid not in present]
        for sid, (record, log_path, seen) in missing:
            if record.status not in TERMINAL_STATUSES:
                if now - seen < LOST_AFTER_S * 1000:
                    continue
                record = record.model_copy(
                    update={"status": "FAILED", "end_time_ms": now, "message": lost_message(record)}
                )
                with self._lock:
                    self._records[sid] = (record, log_path, seen)
                    self._write(record, log_path, seen)
            out.append(record.model_copy())
        return out

    def forget(self, submission_id: str) -> bool:
        """Drop a job's record; whether there was one."""
        with self._lock:
            known = self._records.pop(submission_id, None) is not None
            self._db("DELETE FROM ray_jobs WHERE submission_id = ?", (submission_id,))
        return known

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _write(self, record: JobRecord, log_path: str | None, seen: int) -> None:
        self._db(
            "INSERT OR REPLACE INTO ray_jobs VALUES (?, ?, ?, ?)",
            (record.submission_id, record.model_dump_json(), log_path, seen),
        )

    def _prune(self) -> None:
        with self._lock:
            extra = len(self._records) - self.max_records
            if extra <= 0:
                return
            oldest = sorted(self._records, key=lambda s: self._records[s][0].start_time_ms or 0)
            for sid in oldest[:extra]:
                del self._records[sid]
                self._db("DELETE FROM ray_jobs WHERE submission_id = ?", (sid,))
