"""Tests of `iog jobs wait` and core wait_for_jobs on the real Ray head (and through a server)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from iog_jupyter.cli.main import main
from iog_jupyter.core.errors import NotFoundError, RayUnavailableError
from iog_jupyter.core.jobs.service import JobService
from iog_jupyter.core.jobs.waiting import JobsWaitTimeout, wait_exit_status, wait_for_jobs
from iog_jupyter.core.wire import JobRecord
from tests.fixtures import server_config
from tests.test_cli_jobs import Cli

pytestmark = pytest.mark.ray

QUICK = "python -c 'print(1)'"
FAIL = "python -c 'import sys; sys.exit(7)'"
LONG = "python -c 'import time; time.sleep(120)'"


@pytest.fixture
def jobs(ray_head, tmp_path, monkeypatch) -> Iterator[JobService]:
    """Jobs on the real head's job manager, as local mode `--backend ray` sees them."""
    monkeypatch.setenv("IOG_HOME", str(tmp_path / "iog-home"))
    monkeypatch.delenv("IOG_URL", raising=False)
    service = JobService.open("ray")
    yield service
    service.close()


def submit(jobs: JobService, entrypoint: str) -> str:
    sid = f"wait-{uuid.uuid4().hex[:10]}"
    return jobs.submit({"entrypoint": entrypoint, "submission_id": sid, "metadata": {"name": sid}})


def until_running(jobs: JobService, sid: str) -> None:
    deadline = time.monotonic() + 60
    while jobs.get(sid).status != "RUNNING":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.3)


def wait_cli(*args: str) -> list[str]:
    return ["jobs", "wait", "--backend", "ray", *args]


def test_two_jobs_that_succeed_exit_0_with_a_line_each(jobs, capsys):
    a, b = submit(jobs, QUICK), submit(jobs, QUICK)
    assert main(wait_cli(a, b)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split(" after ")[0] for line in lines) == sorted(
        [f"job {a} SUCCEEDED", f"job {b} SUCCEEDED"]
    )


def test_one_failed_job_makes_it_exit_1_and_names_its_exit_code(jobs, capsys):
    ok, bad = submit(jobs, QUICK), submit(jobs, FAIL)
    assert main(wait_cli(ok, bad)) == 1
    out = capsys.readouterr().out
    assert f"job {ok} SUCCEEDED" in out
    assert f"job {bad} FAILED" in out and "(exit code 7)" in out


def test_a_stopped_job_and_no_failure_exit_3(jobs, capsys):
    sid = submit(jobs, LONG)
    until_running(jobs, sid)
    jobs.stop(sid)
    assert main(wait_cli(sid)) == 5
    assert f"job {sid} STOPPED" in capsys.readouterr().out


def test_an_unknown_id_fails_at_once_and_nothing_is_waited_for(jobs, capsys):
    sid = submit(jobs, LONG)
    try:
        started = time.monotonic()
        assert main(wait_cli(sid, "no-such-job-x1")) == 1
        assert time.monotonic() - started < 10
        captured = capsys.readouterr()
        assert "no-such-job-x1" in captured.err and "iog: error:" in captured.err
        assert captured.out == ""
    finally:
        jobs.stop(sid)


def test_timeout_exits_124_and_says_which_jobs_run_on(jobs, capsys):
    quick, slow = submit(jobs, QUICK), submit(jobs, LONG)
    try:
        wait_for_jobs(jobs, [quick])
        started = time.monotonic()
        assert main(wait_cli(quick, slow, "--timeout", "2")) == 124
        assert time.monotonic() - started < 15
        captured = capsys.readouterr()
        assert f"job {quick} SUCCEEDED" in captured.out
        assert "Still running after 2 s" in captured.err and slow in captured.err
        assert quick not in captured.err
        assert jobs.get(slow).status in ("PENDING", "RUNNING")  # the wait left it running
    finally:
        jobs.stop(slow)


def test_json_is_a_line_per_ending_then_the_exit_status(jobs, capsys):
    ok, bad = submit(jobs, QUICK), submit(jobs, FAIL)
    assert main(wait_cli(ok, bad, "--json")) == 1
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ends = {m["submission_id"]: m for m in messages if m["type"] == "end"}
    assert ends[ok]["status"] == "SUCCEEDED" and ends[ok]["name"] == ok
    assert ends[bad]["status"] == "FAILED" and ends[bad]["exit_code"] == 7
    assert ends[ok]["run_time_s"] >= 0
    assert messages[-1] == {"type": "done", "exit_status": 1}


def test_a_bad_timeout_is_a_usage_error(jobs, capsys):
    assert main(wait_cli("x", "--timeout", "-1")) == 2
    assert "--timeout must be at least 0" in capsys.readouterr().err


class FlakyJobs:
    """The real service, whose ``get`` says Ray is unavailable ``outages`` times after ``after``."""

    def __init__(self, jobs: JobService, outages: int, after: int = 1) -> None:
        self.jobs, self.outages, self.after, self.calls = jobs, outages, after, 0

    def get(self, submission_id: str) -> JobRecord:
        self.calls += 1
        if self.after < self.calls <= self.after + self.outages:
            raise RayUnavailableError("Ray is not answering.")
        return self.jobs.get(submission_id)


def test_core_wait_rides_out_an_outage_and_calls_on_end_once_per_job(jobs, caplog):
    sid = submit(jobs, QUICK)
    flaky, ended = FlakyJobs(jobs, outages=2), []
    with caplog.at_level(logging.WARNING, "iog_jupyter.core.jobs.waiting"):
        records = wait_for_jobs(flaky, [sid, sid], on_end=ended.append, poll_s=0.1)  # type: ignore[arg-type]
    assert [r.submission_id for r in records] == [sid]
    assert [r.status for r in ended] == ["SUCCEEDED"]
    assert flaky.calls >= 4
    assert sum("Ray is not answering." in r.message for r in caplog.records) == 1
    assert wait_exit_status(records) == 0


def test_core_wait_rides_out_an_outage_at_the_very_start(jobs, caplog):
    sid = submit(jobs, QUICK)
    flaky, ended = FlakyJobs(jobs, outages=3, after=0), []
    with caplog.at_level(logging.WARNING, "iog_jupyter.core.jobs.waiting"):
        records = wait_for_jobs(flaky, [sid], on_end=ended.append, poll_s=0.1)  # type: ignore[arg-type]
    assert [r.status for r in records] == [r.status for r in ended] == ["SUCCEEDED"]
    assert flaky.calls >= 4
    assert sum("Ray is not answering." in r.message for r in caplog.records) == 1
    with pytest.raises(RayUnavailableError):  # timed out before any job was read
        wait_for_jobs(FlakyJobs(jobs, outages=100, after=0), [sid], timeout_s=0.3, poll_s=0.05)  # type: ignore[arg-type]
    with pytest.raises(RayUnavailableError):
        wait_for_jobs(FlakyJobs(jobs, outages=100, after=0), [sid], poll_s=0.05, outage_s=0.3)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):  # an unknown id still fails on its first answer
        wait_for_jobs(FlakyJobs(jobs, outages=1, after=0), ["no-such-job-y3"], poll_s=0.05)  # type: ignore[arg-type]


def test_core_wait_gives_up_after_the_outage_allowance(jobs):
    sid = submit(jobs, LONG)
    try:
        with pytest.raises(RayUnavailableError):
            wait_for_jobs(FlakyJobs(jobs, outages=100), [sid], poll_s=0.05, outage_s=0.3)  # type: ignore[arg-type]
    finally:
        jobs.stop(sid)


def test_core_wait_errors_name_the_problem(jobs):
    with pytest.raises(NotFoundError):
        wait_for_jobs(jobs, ["no-such-job-y2"])
    sid = submit(jobs, LONG)
    try:
        with pytest.raises(JobsWaitTimeout) as caught:
            wait_for_jobs(jobs, [sid], timeout_s=0.5)
        assert [r.submission_id for r in caught.value.running] == [sid]
        assert wait_exit_status(caught.value.records) == 124
    finally:
        jobs.stop(sid)


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    """iog_jupyter on the Ray jobs backend, with its own state dir."""
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend="ray",
        request_timeout_s=60.0,
        jobs_state_dir=tmp_path / "iog_state",
    )


@pytest.fixture
def cli(jp_serverapp, server_url, tmp_path) -> Cli:
    """The CLI in a child process, pointed at the test server with its token."""
    return Cli(server_url, jp_serverapp.identity_provider.token, tmp_path)


async def test_remote_wait_through_a_server(cli):
    code, out, err = await cli("submit", "--no-wait", "--", "python", "-c", "print(2)")
    assert code == 0, err
    sid = out.strip()
    code, out, err = await cli("wait", sid, "missing-job-z3")
    assert code == 1 and "missing-job-z3" in err and out == ""
    code, out, err = await cli("wait", sid, "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["submission_id"] == sid and lines[0]["status"] == "SUCCEEDED"
    assert lines[-1] == {"type": "done", "exit_status": 0}
