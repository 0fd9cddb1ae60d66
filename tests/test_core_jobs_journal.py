"""The jobs journal: durable, marks lost jobs FAILED (after a grace), forgets on delete, bounded."""

from __future__ import annotations

import os
import stat
import time

from iog_jupyter.core.jobs.journal import LOST_AFTER_S, JobJournal
from iog_jupyter.core.wire import JobRecord


def _job(sid: str, status: str = "RUNNING", start: int = 1_000, **extra) -> JobRecord:
    return JobRecord(
        submission_id=sid,
        status=status,
        entrypoint="python x.py",
        start_time_ms=start,
        backend="ray",
        **extra,
    )


def test_records_survive_a_reopen_and_the_file_is_private(tmp_path) -> None:
    path = str(tmp_path / "state" / "ray_jobs.sqlite")
    journal = JobJournal(path)
    journal.observe(_job("a", driver_pid=4242), log_path="/logs/job-driver-a.log")
    journal.observe(_job("a", status="SUCCEEDED", end_time_ms=2_000))  # a list: no pid, no path
    journal.close()
    again = JobJournal(path)
    kept = again.get("a")
    assert kept is not None and kept.status == "SUCCEEDED" and kept.end_time_ms == 2_000
    assert kept.driver_pid == 4242, "a list record without a pid keeps the one seen before"
    assert again.log_path("a") == "/logs/job-driver-a.log"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again.close()


def test_unfinished_jobs_missing_from_ray_become_failed_after_the_grace(tmp_path) -> None:
    journal = JobJournal(str(tmp_path / "j.sqlite"))
    journal.observe(_job("run", driver_pid=99))
    journal.observe(_job("ended", status="SUCCEEDED"))
    journal.observe(_job("here"))
    now = int(time.time() * 1000)
    # Just submitted and missing from one listing (a race with the submit): not lost yet.
    early = journal.lost({"here"}, now_ms=now + 1_000)
    assert {r.submission_id: r.status for r in early} == {"ended": "SUCCEEDED"}
    late = journal.lost({"here"}, now_ms=now + int(LOST_AFTER_S * 1000) + 1)
    by_id = {r.submission_id: r for r in late}
    assert set(by_id) == {"run", "ended"}
    lost = by_id["run"]
    assert lost.status == "FAILED" and lost.end_time_ms == now + int(LOST_AFTER_S * 1000) + 1
    assert "while it was RUNNING" in lost.message and "pid 99" in lost.message
    assert journal.get("run").status == "FAILED", "the verdict is kept"
    assert journal.get("here").status == "RUNNING"
    journal.close()


def test_forget_and_the_bound(tmp_path) -> None:
    journal = JobJournal(str(tmp_path / "j.sqlite"), max_records=3)
    for i in range(5):
        journal.observe(_job(f"j{i}", start=1_000 + i))
    assert sorted(journal.ids()) == ["j2", "j3", "j4"], "the oldest records go first"
    assert journal.forget("j3") and not journal.forget("j3")
    journal.close()
    assert sorted(JobJournal(str(tmp_path / "j.sqlite")).ids()) == ["j2", "j4"]
