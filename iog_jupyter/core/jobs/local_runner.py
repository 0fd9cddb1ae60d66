"""The detached supervisor of one local job: ``python local_runner.py <state_dir> <submission_id>``.

``LocalProcessBackend`` starts this script in a session of its own, with the job's environment.
It starts the entrypoint with ``bash -c`` as a process group of its own, writes its output to
the job's log, enforces stop requests (TERM, then KILL after the grace period) and records the
exit code and end time in ``jobs.sqlite`` — so a job outlives the Jupyter server that started it,
and a new server finds its state and log again.

Standard library only, and run by file path, so it works whatever the server's import path was.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

POLL_S = 0.1


def _now_ms() -> int:
    return int(time.time() * 1000)


def _update(db: sqlite3.Connection, submission_id: str, **fields: object) -> None:
    names = ", ".join(f"{name} = ?" for name in fields)
    db.execute(
        f"UPDATE jobs SET {names} WHERE submission_id = ?", (*fields.values(), submission_id)
    )


def _stop_requested(db: sqlite3.Connection, submission_id: str) -> bool:
    row = db.execute(
        "SELECT stop_requested_ms FROM jobs WHERE submission_id = ?", (submission_id,)
    ).fetchone()
    return row is not None and row[0] is not None


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run(state_dir: str, submission_id: str) -> int:
    """Run one job to its end and record the outcome: 0, or 2 when the job record is missing."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # timeout: wait up to 30 s for the server's writes (SQLite's busy timeout).
    db = sqlite3.connect(os.path.join(state_dir, "jobs.sqlite"), timeout=30, isolation_level=None)
    row = db.execute(
        "SELECT entrypoint, cwd, log_path, stop_grace_s FROM jobs WHERE submission_id = ?",
        (submission_id,),
    ).fetchone()
    if row is None:
        return 2
    entrypoint, cwd, log_path, grace_s = row
    try:
        with open(log_path, "ab") as log_file:
            child = subprocess.Popen(
                ["/bin/bash", "-c", entrypoint],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as err:
        _update(
            db,
            submission_id,
            status="FAILED",
            message=f"The entrypoint could not be started: {err.strerror}.",
            end_time_ms=_now_ms(),
        )
        return 0
    _update(db, submission_id, status="RUNNING", driver_pid=child.pid, message="Job is running.")
    termed_at: float | None = None
    killed = False
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=POLL_S)
            break
        if not _stop_requested(db, submission_id):
            continue
        if termed_at is None:
            _killpg(child.pid, signal.SIGTERM)
            termed_at = time.monotonic()
        elif not killed and time.monotonic() - termed_at > float(grace_s or 0):
            _killpg(child.pid, signal.SIGKILL)
            killed = True
    code = child.returncode
    if termed_at is not None or _stop_requested(db, submission_id):
        _killpg(child.pid, signal.SIGKILL)  # leftovers of the group
        status, message = "STOPPED", "Job was intentionally stopped."
    elif code == 0:
        status, message = "SUCCEEDED", "Job finished successfully."
    else:
        status, message = "FAILED", f"Job entrypoint command failed with exit code {code}."
    _update(
        db, submission_id, status=status, message=message, exit_code=code, end_time_ms=_now_ms()
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2]))
