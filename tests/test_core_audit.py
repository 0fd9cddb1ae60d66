"""The audit log: 0600, one parseable JSON line per record, whole lines under concurrency."""

from __future__ import annotations

import json
import os
import stat
import threading

from iog_jupyter.core.security.audit import AuditLog


def test_record_mode_and_fields(tmp_path):
    path = tmp_path / "audit" / "audit.jsonl"
    audit = AuditLog(path)
    audit.record("job.submit", "j1", "allowed", "alice", "127.0.0.1")
    audit.record("job.delete", "j1", "refused", "bob", "10.0.0.2", detail="x" * 2000)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["action"] for r in lines] == ["job.submit", "job.delete"]
    assert set(lines[0]) == {"time", "user", "remote_ip", "action", "target", "outcome", "detail"}
    assert lines[0]["time"].endswith("Z") and lines[1]["outcome"] == "refused"
    assert len(lines[1]["detail"]) == 500


def test_wider_mode_is_tightened(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    os.chmod(path, 0o644)
    AuditLog(path).record("job.stop", "j", "allowed", "a", "::1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_concurrent_writers_do_not_interleave(tmp_path):
    path = tmp_path / "audit.jsonl"
    audits = [AuditLog(path), AuditLog(path)]

    def write(n: int) -> None:
        for i in range(200):
            audits[n % 2].record(
                "job.submit", f"t{n}-{i}", "allowed", "u" * 100, "1.2.3.4", "d" * 300
            )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    targets = [json.loads(line)["target"] for line in path.read_text().splitlines()]
    assert len(targets) == 1600 and len(set(targets)) == 1600
