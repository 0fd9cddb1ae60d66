"""Tests of `iog sessions` on the real Ray head: remote (a pytest-jupyter server) and local."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from iog_jupyter.cli.errors import EXIT_ERROR, EXIT_USAGE
from iog_jupyter.cli.main import main
from tests.fixtures import server_config, session_driver

pytestmark = pytest.mark.ray

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    """iog_jupyter with its own state dir (audit log)."""
    return server_config(request_timeout_s=30.0, jobs_state_dir=tmp_path / "state")


@pytest.fixture
def script_driver(ray_head):
    """A script driver holding one actor; yields its job id."""
    with session_driver(ray_head, "cli", "--actors", "1") as (_, job_id):
        yield job_id


async def iog(url: str, token: str, *args: str) -> tuple[int, str, str]:
    """``iog sessions <args> --url URL`` in a child process (the test loop keeps serving)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    env.update(PYTHONPATH=REPO, IOG_TOKEN=token)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iog_jupyter.cli",
        "sessions",
        *args,
        "--url",
        url,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def test_remote_list_and_a_refused_release(jp_serverapp, server_url, script_driver):
    url = server_url
    token = jp_serverapp.identity_provider.token
    code, out, err = await iog(url, token, "list")
    assert code == 0, err
    assert out.splitlines()[0].split()[:4] == ["SESSION", "ID", "KIND", "OWNER"]
    row = next(line for line in out.splitlines() if f" {script_driver} " in line)
    assert row.startswith("script (pid ") and " script " in row and "CPU 0.1" in row
    code, out, err = await iog(url, token, "list", "--json")
    assert code == 0 and json.loads(out)["policy"]["enabled"] is False
    # A script is not a kernel of this server: 403, exit 1 (not a credentials problem), one
    # line, actor kept.
    code, out, err = await iog(url, token, "release", script_driver, "--yes")
    assert code == EXIT_ERROR and "sessions_release_foreign" in err and "Traceback" not in err
    assert "token" not in err
    code, out, err = await iog(url, token, "release", "0a0b0c0d", "--yes")
    assert code == EXIT_ERROR and "No live session has the id 0a0b0c0d" in err
    assert "`iog sessions list`" in err
    code, out, err = await iog(url, token, "list", "--json")
    held = {s["session_id"]: s["actors"] for s in json.loads(out)["sessions"]}
    assert held[script_driver] == 1


def test_local_mode_lists_and_releases(script_driver, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["sessions", "release", script_driver]) == EXIT_USAGE  # no --yes, no terminal
    assert "--yes" in capsys.readouterr().err
    assert main(["sessions", "release", "nope", "--yes"]) == EXIT_USAGE
    assert "Bad session id" in capsys.readouterr().err
    assert main(["sessions", "list", "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)["sessions"]
    assert next(s for s in sessions if s["session_id"] == script_driver)["actors"] == 1
    assert main(["sessions", "release", script_driver, "--yes"]) == 0
    assert "killed 1 actor(s)" in capsys.readouterr().out
    assert main(["sessions", "list", "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)["sessions"]
    assert next(s for s in sessions if s["session_id"] == script_driver)["actors"] == 0


def test_local_list_says_what_each_column_means_and_hides_ray_s_own_drivers(
    script_driver, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    # A job on Ray's job manager starts Ray's own (dashboard) driver, in a _ray_internal namespace.
    assert main(["jobs", "submit", "--backend", "ray", "--", "true"]) == 0
    capsys.readouterr()
    assert main(["sessions", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["SESSION", "ID", "KIND", "OWNER"]
    row = next(line for line in lines if f" {script_driver} " in line)
    assert row.startswith("script (pid ") and " 1 + 0 detached " in row
    assert main(["sessions", "list", "--json"]) == 0
    assert not any(s["internal"] for s in json.loads(capsys.readouterr().out)["sessions"])
    assert main(["sessions", "list", "--all", "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)["sessions"]
    internal = next(s["session_id"] for s in sessions if s["internal"])
    assert main(["sessions", "list", "--all"]) == 0
    assert "(Ray's own)" in capsys.readouterr().out
    assert main(["sessions", "release", internal, "--yes"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert f"Session {internal} is Ray's own driver" in err and "never released" in err
    assert main(["sessions", "release", "0a0b0c0d", "--yes"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "0a0b0c0d" in err and "`iog sessions list`" in err
