"""JobService on the local backend without Ray: submit checks, follow and resume, follow_logs."""

from __future__ import annotations

import threading
import time

import pytest

from iog_jupyter.core.errors import NotFoundError, QuotaExceededError, ValidationError
from iog_jupyter.core.jobs import JobService, LocalProcessBackend, follow_logs
from iog_jupyter.core.jobs.service import parse_statuses
from iog_jupyter.core.security.quotas import QuotaLimits, Quotas

LINES = 'for i in 1 2 3 4 5; do echo "line $i \u00e9"; sleep 0.2; done'


class PagesOnly(LocalProcessBackend):
    """A backend without a cheap read: a follower must poll its log pages."""

    def follow_page(self, submission_id, offset, limit_bytes, ended):
        return None


@pytest.fixture(params=["file", "pages"])
def service(request, tmp_path):
    cls = LocalProcessBackend if request.param == "file" else PagesOnly
    jobs = JobService(cls(str(tmp_path / "state"), stop_grace_s=1), log_chunk_bytes=7)
    yield jobs
    jobs.close()


def _wait_ended(jobs: JobService, sid: str) -> None:
    deadline = time.monotonic() + 30
    while not jobs.get(sid).is_terminal:
        assert time.monotonic() < deadline, jobs.get(sid)
        time.sleep(0.1)


def test_follow_reads_to_the_end_and_resumes_byte_exact(service):
    sid = service.submit({"entrypoint": LINES}, owner="alice")
    pages = list(service.follow(sid))
    text = "".join(page.text for page in pages)
    assert [line for line in text.splitlines()] == [f"line {i} \u00e9" for i in range(1, 6)]
    assert pages[0].offset == 0
    assert all(a.next_offset == b.offset for a, b in zip(pages, pages[1:], strict=False))
    assert all(p.next_offset - p.offset <= 7 for p in pages)
    assert service.get(sid).status == "SUCCEEDED" and service.get(sid).owner == "alice"
    middle = len("line 1 \u00e9\n".encode())
    rest = "".join(page.text for page in service.follow(sid, middle))
    assert rest.encode() == text.encode()[middle:]
    # Through follow_logs: the same bytes, then the final record.
    seen: list[str] = []
    record = follow_logs(service, sid, middle, lambda page: seen.append(page.text))
    assert "".join(seen) == rest and record is not None and record.status == "SUCCEEDED"


def test_stop_event_ends_following_and_interrupt_can_stop_the_job(service):
    sid = service.submit({"entrypoint": "echo up; sleep 30"})
    stop = threading.Event()
    got: list[str] = []

    def on_page(page):
        got.append(page.text)
        stop.set()

    assert follow_logs(service, sid, 0, on_page, stop=stop) is None
    assert got and service.get(sid).status in ("PENDING", "RUNNING")

    def interrupt(page):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        follow_logs(service, sid, 0, interrupt, stop_job_on_interrupt=True)
    _wait_ended(service, sid)
    assert service.get(sid).status in ("STOPPED", "FAILED")


def test_ids_quotas_and_statuses_are_checked(tmp_path):
    quotas = Quotas(QuotaLimits(max_active_jobs=1))
    jobs = JobService(LocalProcessBackend(str(tmp_path), stop_grace_s=1), quotas=quotas)
    try:
        for call in (jobs.get, jobs.stop, jobs.delete, jobs.logs):
            with pytest.raises(ValidationError, match="Bad submission id"):
                call("../etc")
            with pytest.raises(NotFoundError):
                call("no-such-job")
        with pytest.raises(ValidationError, match="Bad submission id"):
            list(jobs.follow("-x"))
        with pytest.raises(NotFoundError):
            list(jobs.follow("no-such-job"))
        with pytest.raises(ValidationError, match="entrypoint is required"):
            jobs.submit({})
        sid = jobs.submit({"entrypoint": "sleep 30"}, owner="bob")
        with pytest.raises(QuotaExceededError, match="limit is 1"):
            jobs.submit({"entrypoint": "true"}, owner="bob")
        jobs.submit({"entrypoint": "true"}, owner="carol")  # quotas are per user
        assert jobs.stop(sid) is True
        _wait_ended(jobs, sid)
        assert jobs.list(parse_statuses("stopped,FAILED")).jobs[0].submission_id == sid
    finally:
        jobs.close()
    assert parse_statuses(None) is None and parse_statuses(" , ") is None
    with pytest.raises(ValidationError, match="Unknown job status 'DONE'"):
        parse_statuses("running,done")
