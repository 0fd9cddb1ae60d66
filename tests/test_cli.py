"""Tests of `iog status` and the CLI's REST client, against the real Ray head and Jupyter server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import pytest

from iog_jupyter.cli.errors import EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, exit_code_of
from iog_jupyter.cli.main import main
from iog_jupyter.client import IogClient, IogClientError, normalize_base_url
from tests.ray_versions import CAPS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_iog_state(tmp_path, monkeypatch):
    """An empty IOG_HOME, so a developer's own `iog up` never leaks into these tests."""
    monkeypatch.setenv("IOG_HOME", str(tmp_path / "iog-home"))
    monkeypatch.delenv("IOG_URL", raising=False)
    monkeypatch.delenv("IOG_TOKEN", raising=False)


@pytest.mark.ray
def test_status_json_local_shows_head_cpus(ray_head, no_iog_state, capsys):
    assert main(["status", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["status"]["ray"]["address"] == ray_head.address
    assert data["status"]["ray"]["connected"] is True
    assert data["status"]["ray"]["version"] == CAPS.version
    assert data["status"]["ray"]["capabilities"]["token_auth"] is CAPS.token_auth
    heads = [n for n in data["cluster"]["nodes"] if n["is_head"]]
    assert len(heads) == 1
    assert heads[0]["resources_total"]["CPU"] == 2.0
    assert data["cluster"]["totals"]["CPU"] >= 2.0
    token = open(ray_head.token_path).read().strip()
    assert token not in out + err


@pytest.mark.ray
def test_status_json_option_before_subcommand(ray_head, no_iog_state, capsys):
    assert main(["--json", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["cluster"]["nodes"]


@pytest.mark.ray
def test_status_human_lists_cpu_and_head_node(ray_head, no_iog_state, capsys):
    assert main(["status", "--json"]) == 0
    head = next(n for n in json.loads(capsys.readouterr().out)["cluster"]["nodes"] if n["is_head"])
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "CPU" in out
    assert "GiB memory" in out
    assert "Node status" in out and "Resources" in out and "Demands:" in out
    assert ray_head.address in out
    # The first line names the installed Ray; each thing it lacks gets a note.
    assert f"Ray {CAPS.version} at {ray_head.address}" in out.splitlines()[0]
    assert [line[6:] for line in out.splitlines() if line.startswith("Note: ")] == CAPS.notes()
    head_line = next(line for line in out.splitlines() if "(head," in line)
    assert head["node_name"] in head_line and head["node_id"][:12] in head_line
    assert "CPU" in head_line and "/2" in head_line


def test_status_ray_unreachable_exits_3_without_traceback(monkeypatch, no_iog_state):
    port = _closed_port()
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}", "PYTHONPATH": REPO}
    env.pop("RAY_AUTH_TOKEN_PATH", None)
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "iog_jupyter.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_UNAVAILABLE
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "RAY_ADDRESS" in lines[0] and "iog up" in lines[0]


def test_status_ray_unreachable_in_process(monkeypatch, no_iog_state, capsys):
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    assert main(["status", "--json"]) == EXIT_UNAVAILABLE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("iog: error: Ray is not reachable")


def test_status_bad_ray_address_is_usage_error(monkeypatch, no_iog_state, capsys):
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert main(["status"]) == EXIT_USAGE
    assert "Ray Client address" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url",
    ["ftp://host/", "not a url", "http://:8888/", "http://host:99999/", "http://u:p@host/"],
)
def test_bad_url_exits_2(url, no_iog_state, capsys):
    assert main(["status", "--url", url]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("iog: error:")
    assert "Traceback" not in err


def test_url_with_token_query_is_refused_and_not_echoed(no_iog_state, capsys):
    assert main(["status", "--url", "http://127.0.0.1:8888/lab?token=s3cr3t-value"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "IOG_TOKEN" in err
    assert "s3cr3t-value" not in err


def test_unreachable_server_exits_3(no_iog_state, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/"
    assert main(["status", "--url", url]) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "Could not reach the Jupyter server" in err and url in err


def test_iog_url_env_selects_remote_mode(monkeypatch, no_iog_state, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/"
    monkeypatch.setenv("IOG_URL", url)
    assert main(["status"]) == EXIT_UNAVAILABLE
    assert url in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8888", "http://127.0.0.1:8888/"),
        ("https://head.example.com/user/ana/lab", "https://head.example.com/user/ana/"),
        ("http://[::1]:8888/a%40b/", "http://[::1]:8888/a%40b/"),
    ],
)
def test_normalize_base_url(given, expected):
    assert normalize_base_url(given) == expected


def test_client_sends_token_only_in_header_and_verifies_tls():
    client = IogClient("https://head.example.com/", "tok-123")
    assert client._session.verify is True
    assert client._session.headers["Authorization"] == "token tok-123"
    assert "tok-123" not in repr(client) and "tok-123" not in client.url
    client.close()


def test_client_error_carries_status_and_exit_code():
    err = IogClientError("refused", status=403)
    assert err.status == 403 and err.kind == "auth" and exit_code_of(err) == EXIT_AUTH
    down = IogClientError("down", status=503, reason="ray_unavailable")
    assert down.kind == "unavailable" and exit_code_of(down) == EXIT_UNAVAILABLE
    assert exit_code_of(IogClientError("bad", status=400)) == EXIT_USAGE
    assert exit_code_of(IogClientError("no", status=403, reason="protected_actor")) == 1
    # The client knows nothing of the CLI: its error is not a CLI error.
    assert not isinstance(err, CliError)


async def _run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI in a child process, so the test's event loop keeps serving Jupyter."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iog_jupyter.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _remote_env(tmp_path, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    env["PYTHONPATH"] = REPO
    env["IOG_HOME"] = str(tmp_path / "iog-home")
    if token is not None:
        env["IOG_TOKEN"] = token
    return env


@pytest.mark.ray
async def test_remote_status_json_with_token(jp_serverapp, server_url, tmp_path):
    token = jp_serverapp.identity_provider.token
    url = server_url
    code, out, err = await _run_cli(
        "status", "--json", "--url", url, env=_remote_env(tmp_path, token)
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["status"]["ray"]["connected"] is True
    assert data["status"]["version"]
    heads = [n for n in data["cluster"]["nodes"] if n["is_head"]]
    assert heads and heads[0]["resources_total"]["CPU"] == 2.0
    assert token not in out + err


@pytest.mark.ray
async def test_remote_status_human(jp_serverapp, server_url, tmp_path):
    token = jp_serverapp.identity_provider.token
    url = server_url
    code, out, err = await _run_cli("status", "--url", url, env=_remote_env(tmp_path, token))
    assert code == 0, err
    assert "CPU" in out and "Node status" in out
    assert f"via {url}" in out
    assert token not in out + err


@pytest.mark.ray
@pytest.mark.parametrize("token", ["wrong-token-0123456789", None])
async def test_remote_wrong_or_missing_token(jp_serverapp, server_url, tmp_path, token):
    url = server_url
    code, out, err = await _run_cli("status", "--url", url, env=_remote_env(tmp_path, token))
    assert code == EXIT_AUTH
    assert out == ""
    assert "Traceback" not in err
    assert "403" in err or "401" in err
    assert "IOG_TOKEN" in err
    real = jp_serverapp.identity_provider.token
    assert real not in err
    if token:
        assert token not in err
