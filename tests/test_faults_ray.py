"""A Ray head SIGKILLed under a running job, then restarted on the same ports.

While it is gone every REST route answers within 2 s (data it has, or a clear
``ray_unavailable``); a log follower keeps what it has; after the head returns the server
recovers by itself, the job history is still there (Ray's own table is empty again), and the job
that was running is FAILED with the reason, its followers (a websocket, the CLI) ended with
that status. A cluster widget in a notebook's kernel (not a Ray driver) shows the outage within
the refresh interval + 1 s and recovers within interval + 5 s of the head's return, by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from iog_jupyter.core.jobs.journal import LOST_AFTER_S
from iog_jupyter.core.local_head import is_alive, processes_under, start_head, stop_head
from iog_jupyter.handlers.routes import ROUTES
from tests.fixtures import REPO, head_traits, server_config
from tests.test_handlers_sessions import run, start_notebook

from .routes import concrete_path

pytestmark = [pytest.mark.ray, pytest.mark.slow]

INTERVAL_S = 0.5
TICKER = (
    "import time\nfor i in range(10**6):\n    print('tick', i, flush=True)\n    time.sleep(0.2)"
)


#: In a notebook's kernel: a cluster widget, and a thread that writes each change of its state.
WIDGET = """
import json, threading, time
from iog_jupyter.widgets import ClusterWidget
widget = ClusterWidget(refresh_interval_s=%(interval)r, dashboard_base_url="")
def _watch(path=%(path)r):
    last = None
    while True:
        state = (widget.connected, widget.banner.value)
        if state != last:
            with open(path, "a") as out:
                out.write(json.dumps({"t": time.time(), "connected": state[0], "banner": state[1]}))
                out.write("\\n")
            last = state
        time.sleep(0.05)
threading.Thread(target=_watch, daemon=True).start()
print("WATCHING")
"""


@pytest.fixture
def jp_server_config(restartable_head, tmp_path, monkeypatch):
    # Kernels the server starts find this head (and this checkout) in their environment.
    for name, value in {**restartable_head.env(), "PYTHONPATH": str(REPO)}.items():
        monkeypatch.setenv(name, value)
    return server_config(
        refresh_interval_s=INTERVAL_S,
        jobs_backend="ray",
        jobs_state_dir=tmp_path / "iog_state",
        **head_traits(restartable_head),
    )


async def _api(jp_fetch, path: str, **kwargs) -> tuple[int, dict]:
    try:
        reply = await jp_fetch("iog", "api", "v1", *path.split("/"), **kwargs)
    except Exception as error:  # tornado's HTTPClientError carries the answer
        response = getattr(error, "response", None)
        if response is None:
            raise
        return error.code, json.loads(response.body)
    return reply.code, json.loads(reply.body)


async def _until(what: str, check, deadline_s: float, step_s: float = 0.2):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = await check()
        if got:
            return got
        await asyncio.sleep(step_s)
    raise AssertionError(f"{what}: not within {deadline_s:g} s")


async def _job(jp_fetch, submission_id: str) -> dict:
    return (await _api(jp_fetch, f"jobs/{submission_id}"))[1]


async def _cli_follower(server_url: str, token: str, submission_id: str, tmp_path):
    """``iog jobs logs -f ID --url URL`` in a child process (the CLI's follower)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    env.update(PYTHONPATH=str(REPO), IOG_HOME=str(tmp_path / "iog-home"), IOG_TOKEN=token)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iog_jupyter.cli",
        "jobs",
        "logs",
        "-f",
        submission_id,
        "--url",
        server_url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_head_killed_under_a_running_job_loses_nothing(
    jp_fetch, jp_ws_fetch, jp_serverapp, server_url, restartable_head, tmp_path
):
    head = restartable_head
    await _until("connected", lambda: _connected(jp_fetch), 60)
    post = {"method": "POST", "headers": {"Content-Type": "application/json"}}
    tag = os.urandom(3).hex()
    done, ticker = f"done-{tag}", f"ticker-{tag}"
    code, _ = await _api(
        jp_fetch,
        "jobs",
        body=json.dumps({"submission_id": done, "entrypoint": "echo done-A"}),
        **post,
    )
    assert code == 201
    entry = f"python -u -c {shlex.quote(TICKER)}"
    code, _ = await _api(
        jp_fetch, "jobs", body=json.dumps({"submission_id": ticker, "entrypoint": entry}), **post
    )
    assert code == 201
    await _until("done-A ended", lambda: _status_is(jp_fetch, done, "SUCCEEDED"), 120)
    code, page = await _api(jp_fetch, f"jobs/{done}/logs")
    assert code == 200 and "done-A" in page["text"]
    await _until("ticker running", lambda: _status_is(jp_fetch, ticker, "RUNNING"), 120)
    driver_pid = (await _job(jp_fetch, ticker)).get("driver_pid")

    tail = await jp_ws_fetch("iog", "api", "v1", "jobs", ticker, "logs", "tail")
    messages: list[dict] = []

    async def follow() -> None:
        while (text := await tail.read_message()) is not None:
            messages.append(json.loads(text))

    follower = asyncio.ensure_future(follow())
    await _until("ticks followed", lambda: _has_ticks(messages), 60)
    token = jp_serverapp.identity_provider.token
    cli = await _cli_follower(server_url, token, ticker, tmp_path)
    cli_output = asyncio.ensure_future(cli.communicate())
    widget_log = tmp_path / "widget.jsonl"
    kernel = await start_notebook(jp_fetch, "widget.ipynb")
    code = WIDGET % {"interval": INTERVAL_S, "path": str(widget_log)}
    assert "WATCHING" in await run(jp_serverapp, kernel, code)
    await _until("widget connected", lambda: _widget_since(widget_log, 0, True), 60)

    try:
        # SIGKILL every process of the head at once (GCS, raylet, dashboard, workers).
        for pid in processes_under(head.temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed, killed_at = time.monotonic(), time.time()
        await _until("disconnected", lambda: _disconnected(jp_fetch), INTERVAL_S + 1 + 1)
        assert time.monotonic() - killed <= INTERVAL_S + 2
        gone = await _until(
            "widget disconnected", lambda: _widget_since(widget_log, killed_at, False), 10
        )
        assert gone["t"] - killed_at <= INTERVAL_S + 1, gone
        assert "iog-ClusterWidget-banner" in gone["banner"], gone

        # Every route answers within 2 s: its data, or ray_unavailable saying what to do.
        for route in ROUTES:
            if "get" not in route.ops or route.ops["get"].status == 101:
                continue
            path = concrete_path(route.path)
            started = time.monotonic()
            code, body = await _api(jp_fetch, path)
            took = time.monotonic() - started
            assert took < 2.0, (path, took)
            assert code < 500 or (code == 503 and body["reason"] == "ray_unavailable"), (path, body)
            if code == 503:
                assert "iog up" in body["message"], (path, body)
        assert not follower.done(), "the follower must wait for the head, not end"
        assert not cli_output.done(), "so must the CLI's"

        # Back on the same ports: the server sees it by itself (no request needed).
        stop_head(head.temp_dir, grace_s=1)
        await asyncio.to_thread(
            start_head, head.temp_dir, head.token_path, head.gcs_port, head.dashboard_port, 1
        )
        back, back_at = time.monotonic(), time.time()
        await _until("reconnected", lambda: _connected(jp_fetch), INTERVAL_S + 5)
        assert time.monotonic() - back <= INTERVAL_S + 5
        # It may see the head before start_head returns (that waits for the dashboard too).
        seen = await _until(
            "widget reconnected", lambda: _widget_since(widget_log, gone["t"], True), 15
        )
        assert seen["t"] - back_at <= INTERVAL_S + 5 and not seen["banner"], seen

        # History is the server's: the ended job and its log, the lost one FAILED with why.
        lost = await _until(
            "ticker marked lost",
            lambda: _status_is(jp_fetch, ticker, "FAILED"),
            LOST_AFTER_S + 10,
        )
        assert "Ray lost this job while it was RUNNING" in lost["message"]
        if driver_pid:  # its driver may outlive the head: the message says which process
            assert f"pid {driver_pid}" in lost["message"]
        code, listed = await _api(jp_fetch, "jobs")
        statuses = {j["submission_id"]: j["status"] for j in listed["jobs"]}
        assert statuses[done] == "SUCCEEDED" and statuses[ticker] == "FAILED"
        code, page = await _api(jp_fetch, f"jobs/{done}/logs")
        assert code == 200 and "done-A" in page["text"]
        await asyncio.wait_for(follower, timeout=30)
        assert messages[-1]["type"] == "status" and messages[-1]["status"] == "FAILED"
        assert "Ray lost this job" in messages[-1]["message"]
        out, err = await asyncio.wait_for(cli_output, timeout=60)
        assert cli.returncode == 1, err.decode()
        assert "tick" in out.decode() and f"job {ticker} FAILED" in err.decode()
        # A lost job can be deleted like any ended one.
        code, _ = await _api(jp_fetch, f"jobs/{ticker}", method="DELETE")
        assert code == 200
        assert (await _api(jp_fetch, f"jobs/{ticker}"))[0] == 404
    finally:
        follower.cancel()
        tail.close()
        if cli.returncode is None:
            cli.kill()
        if driver_pid and is_alive(driver_pid):
            os.kill(driver_pid, signal.SIGKILL)


async def _widget_since(path: Path, since: float, connected: bool) -> dict | None:
    """The widget's first state at or after ``since`` that shows ``connected`` to its user.

    Connected with no banner, or disconnected with the banner: the watcher reads the two
    without the widget's lock, so it may also log the moment between them.
    """
    lines = path.read_text().splitlines() if path.exists() else []
    changes = [json.loads(line) for line in lines]
    return next(
        (
            c
            for c in changes
            if c["t"] >= since
            and c["connected"] is connected
            and bool(c["banner"]) is not connected
        ),
        None,
    )


async def _connected(jp_fetch):
    code, status = await _api(jp_fetch, "status")
    return code == 200 and status["ray"]["connected"] is True


async def _disconnected(jp_fetch):
    code, status = await _api(jp_fetch, "status")
    return code == 200 and status["ray"]["connected"] is False


async def _status_is(jp_fetch, submission_id: str, status: str):
    code, job = await _api(jp_fetch, f"jobs/{submission_id}")
    return job if code == 200 and job["status"] == status else None


async def _has_ticks(messages: list[dict]) -> bool:
    return any(m.get("type") == "log" and "tick" in m.get("text", "") for m in messages)
