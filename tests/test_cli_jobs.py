"""Tests of `iog jobs`, against the real Ray head and a pytest-jupyter server (and local mode)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import uuid

import pytest

from iog_jupyter.cli.errors import EXIT_ERROR, EXIT_USAGE
from iog_jupyter.cli.main import main
from tests.fixtures import server_config

pytestmark = pytest.mark.ray

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    """iog_jupyter on the Ray jobs backend, with its own state dir."""
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend="ray",
        request_timeout_s=60.0,
        jobs_state_dir=tmp_path / "iog_state",
        jobs_stop_grace_s=2.0,
    )


def new_id() -> str:
    """A fresh submission id (the Ray head is shared by the whole run)."""
    return f"cli-{uuid.uuid4().hex[:10]}"


class Cli:
    """Runs `iog jobs ... --url URL` in a child process, so the test loop keeps serving Jupyter."""

    def __init__(self, url: str, token: str, tmp_path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
        env.update(PYTHONPATH=REPO, IOG_HOME=str(tmp_path / "iog-home"), IOG_TOKEN=token)
        self.env, self.url = env, url

    async def __call__(self, *args: str, timeout_s: float = 60) -> tuple[int, str, str]:
        """``(exit code, stdout, stderr)`` of ``iog jobs <args>`` (``--url`` added first)."""
        command, rest = args[0], args[1:]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iog_jupyter.cli",
            "jobs",
            command,
            "--url",
            self.url,
            *rest,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def cli(jp_serverapp, server_url, tmp_path) -> Cli:
    """The CLI, pointed at the test server with its token."""
    return Cli(server_url, jp_serverapp.identity_provider.token, tmp_path)


async def test_remote_job_lifecycle(cli, jp_serverapp):
    sid = new_id()
    code, out, err = await cli(
        "submit", "--submission-id", sid, "--", "python", "-c", "print('hello-cli')"
    )
    assert code == 0, err
    assert "hello-cli" in out
    assert "SUCCEEDED" in err and "Traceback" not in err

    code, out, err = await cli("list")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(sid))
    assert "SUCCEEDED" in row and "python" in row
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "OWNER", "STARTED", "COMMAND"]

    code, out, err = await cli("list", "--json", "--status", "SUCCEEDED,FAILED", "--all")
    assert code == 0, err
    assert sid in [job["submission_id"] for job in json.loads(out)["jobs"]]

    code, out, err = await cli("logs", sid)
    assert code == 0, err
    assert "hello-cli" in out

    code, out, err = await cli("get", sid, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "SUCCEEDED"

    code, out, err = await cli("stop", sid)
    assert code == 0, err
    assert "already ended" in out

    code, out, err = await cli("delete", sid)
    assert code == 0, err
    code, out, err = await cli("get", sid)
    assert code == EXIT_ERROR
    assert out == ""
    # The server's 404 names the id that was asked for and what lists the jobs.
    assert f"No job has the id '{sid}'" in err and "`iog jobs list`" in err
    assert len(err.strip().splitlines()) == 1
    assert jp_serverapp.identity_provider.token not in out + err


async def test_remote_bad_submission_id_is_usage_error(cli):
    code, out, err = await cli("submit", "--submission-id", "bad id!", "--", "true")
    assert code == EXIT_USAGE
    assert out == ""
    assert err.startswith("iog: error:") and "submission_id" in err
    assert "Traceback" not in err


async def test_remote_working_dir_is_uploaded(cli, tmp_path):
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "data.txt").write_text("payload-from-working-dir\n")
    code, out, err = await cli("submit", "--working-dir", str(workdir), "--", "cat data.txt")
    assert code == 0, err
    assert "payload-from-working-dir" in out


async def test_remote_failed_job_exits_with_its_code(cli):
    code, out, err = await cli("submit", "--", "echo before-fail; exit 3")
    assert code == 3
    assert "before-fail" in out and "FAILED" in err


async def test_remote_no_wait_returns_the_id_and_the_job_runs_on(cli):
    sid = new_id()
    code, out, err = await cli(
        "submit", "--no-wait", "--submission-id", sid, "--memory", "64MiB", "--", "sleep 30"
    )
    assert code == 0, err
    assert out.strip() == sid
    code, out, err = await cli("get", sid, "--json")
    job = json.loads(out)
    assert job["status"] in ("PENDING", "RUNNING")
    assert job["entrypoint_memory"] == 64 * 1024 * 1024
    code, out, err = await cli("stop", sid)
    assert code == 0, err


async def test_remote_bad_memory_size_is_usage_error(cli):
    code, out, err = await cli("submit", "--memory", "lots", "--", "true")
    assert code == EXIT_USAGE
    assert "4GiB" in err and "Traceback" not in err


def test_local_backend_submit_follow_and_list(ray_head, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("IOG_HOME", str(tmp_path / "iog-home"))
    monkeypatch.delenv("IOG_URL", raising=False)
    workdir = tmp_path / "w"
    workdir.mkdir()
    (workdir / "data.txt").write_text("local-payload\n")
    sid = new_id()
    argv = ["jobs", "submit", "--backend", "local", "--submission-id", sid]
    argv += ["--working-dir", str(workdir), "--env", "GREETING=hi-local", "--"]
    assert main([*argv, "cat data.txt; echo $GREETING"]) == 0
    out, err = capsys.readouterr()
    assert "local-payload" in out and "hi-local" in out
    assert main(["jobs", "list", "--backend", "local", "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    job = next(j for j in jobs if j["submission_id"] == sid)
    assert job["backend"] == "local" and job["status"] == "SUCCEEDED"
    assert job["runtime_env"]["env_vars"] == {"GREETING": "<redacted>"}
    assert main(["jobs", "delete", "--backend", "local", sid]) == 0
    capsys.readouterr()
    assert main(["jobs", "get", "--backend", "local", sid]) == EXIT_ERROR
    assert "iog: error:" in capsys.readouterr().err


# A test run started in the background inherits SIGINT ignored, and Python keeps an ignored
# SIGINT ignored: the CLI is started through a bootstrap that gives it the Ctrl-C a terminal
# would. Not a preexec_fn: that forks this process, whose gRPC threads (the in-process Jupyter
# server's GCS client) abort the child before it execs ("epoll_wait error: Bad file descriptor").
CLI_WITH_CTRL_C = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('iog_jupyter.cli', run_name='__main__', alter_sys=True)",
]


async def test_ctrl_c_while_following_leaves_the_job_running(cli):
    import signal

    sid = new_id()
    proc = await asyncio.create_subprocess_exec(
        *CLI_WITH_CTRL_C,
        "jobs",
        "submit",
        "--url",
        cli.url,
        "--submission-id",
        sid,
        "--",
        "echo started; sleep 60",
        env=cli.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )

    async def until_started() -> None:
        while True:
            line = await proc.stdout.readline()
            if not line:  # the CLI ended before the job printed: say why
                err = (await proc.stderr.read()).decode()
                raise AssertionError(f"iog exited {await proc.wait()} early: {err[-2000:]}")
            if line.decode().strip() == "started":
                return

    await asyncio.wait_for(until_started(), 90)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130
    text = err.decode()
    assert f"job {sid} is still RUNNING" in text and f"iog jobs stop {sid}" in text
    assert "Traceback" not in text
    code, out, err = await cli("get", sid, "--json")
    assert json.loads(out)["status"] == "RUNNING"
    code, out, err = await cli("stop", sid)
    assert code == 0, err


async def test_pending_job_says_why_it_waits_and_ctrl_c_says_it_is_pending(cli):
    """A job asking for more GPUs than the head has (2) stays PENDING: the CLI says why, once."""
    import signal

    sid = new_id()
    argv = ["submit", "--url", cli.url, "--submission-id", sid, "--num-gpus", "64", "--"]
    proc = await asyncio.create_subprocess_exec(
        *[*CLI_WITH_CTRL_C, "jobs", *argv, "python", "-c", "print(1)"],
        env=cli.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen = []

    async def until_reason() -> None:
        while not any("is PENDING" in line for line in seen):
            line = (await proc.stderr.readline()).decode()
            assert line, f"iog exited {await proc.wait()} early: {seen}"
            seen.append(line)

    try:
        await asyncio.wait_for(until_reason(), 90)
        await asyncio.sleep(3)  # several more looks at the job: the reason is not repeated
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = "".join(seen) + err.decode()
    assert f"job {sid} is PENDING: infeasible: no node of the cluster has 64 GPU" in text
    assert text.count("is PENDING") == 1, text
    assert proc.returncode == 130
    assert f"job {sid} is still PENDING (infeasible: no node of the cluster has 64 GPU)" in text
    assert f"iog jobs stop {sid}" in text and f"iog jobs logs -f {sid}" in text
    assert "still running" not in text and "Traceback" not in text
    code, out, err = await cli("get", sid)
    assert code == 0 and "pending_reason: infeasible" in out
    code, out, err = await cli("stop", sid)
    assert code == 0, err


def test_list_and_get_show_the_name_and_the_command_as_typed(
    ray_head, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("IOG_HOME", str(tmp_path / "iog-home"))
    monkeypatch.delenv("IOG_URL", raising=False)
    typed = "python -c \"print('hi')\""  # not shlex.join's 'print('"'"'hi'"'"')'
    sid = new_id()
    argv = ["jobs", "submit", "--backend", "local", "--submission-id", sid]
    argv += ["--metadata", "name=my-train", "--", "python", "-c", "print('hi')"]
    assert main(argv) == 0
    assert "hi" in capsys.readouterr().out
    assert main(["jobs", "list", "--backend", "local"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if sid in line)
    assert row.startswith(f"my-train ({sid})") and row.endswith(typed)
    assert main(["jobs", "get", "--backend", "local", sid]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"name: my-train\nsubmission_id: {sid}\n")
    assert f"command: {typed}\n" in out
    assert "'\"'\"'" not in out and "entrypoint:" not in out
    assert main(["jobs", "get", "--backend", "local", sid, "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["entrypoint"] == shlex.join(["python", "-c", "print('hi')"])
    assert job["name"] == "my-train"
    assert main(["jobs", "get", "--backend", "local", "iog_typo_x"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "No job has the id 'iog_typo_x'. `iog jobs list`" in err
