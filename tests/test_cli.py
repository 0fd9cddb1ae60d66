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
    assert [line[6:] for line in out.splitlines() if line.startswith("Note: ")] == CAPS.notes
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


# The shared options (--url, --json, --verbose) are declared once and accepted before the
# subcommand, after the command group, or after the subcommand, with the same effect.
REMOTE_COMMANDS = [
    ["status"],
    ["doctor"],
    ["jobs", "list"],
    ["jobs", "get", "raysubmit_x"],
    ["actors", "list"],
    ["sessions", "list"],
    ["usage"],
]


def _url_positions(command: list[str], url: str) -> list[list[str]]:
    positions = [["--url", url, *command], [*command, "--url", url]]
    if len(command) > 1:  # After the group too: `iog jobs --url U list`.
        positions.append([command[0], "--url", url, *command[1:]])
    return positions


@pytest.mark.parametrize("command", REMOTE_COMMANDS, ids=" ".join)
def test_url_before_or_after_the_subcommand_reaches_the_same_server(command, no_iog_state, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/"
    results = []
    for argv in _url_positions(command, url):
        code = main(argv)
        out, err = capsys.readouterr()
        results.append((code, out, err))
    assert results[0][0] == EXIT_UNAVAILABLE
    assert "Could not reach the Jupyter server" in results[0][2] and url in results[0][2]
    assert all(result == results[0] for result in results), results


@pytest.mark.parametrize(
    "argv", [["--url", "ftp://host/", "jobs", "list"], ["jobs", "list", "--url", "ftp://host/"]]
)
def test_bad_url_in_either_position_exits_2(argv, no_iog_state, capsys):
    assert main(argv) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("iog: error:") and "http://" in err


def test_url_option_wins_over_iog_url_in_either_position(monkeypatch, no_iog_state, capsys):
    from_env = f"http://127.0.0.1:{_closed_port()}/env/"
    given = f"http://127.0.0.1:{_closed_port()}/given/"
    monkeypatch.setenv("IOG_URL", from_env)
    for argv in (["--url", given, "jobs", "list"], ["jobs", "list", "--url", given]):
        assert main(argv) == EXIT_UNAVAILABLE
        err = capsys.readouterr().err
        assert given in err and from_env not in err
    # Given twice, the later one counts, as for any option.
    assert main(["--url", from_env, "jobs", "list", "--url", given]) == EXIT_UNAVAILABLE
    assert given in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "down"],
        ["down", "--json"],
        ["--json", "-v", "down"],
        ["down", "-v", "--json"],
    ],
)
def test_json_before_or_after_the_subcommand(argv, no_iog_state, capsys):
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"stopped": None}


def test_shared_options_parse_the_same_in_every_position(monkeypatch):
    from iog_jupyter.cli import options
    from iog_jupyter.cli.main import build_parser

    monkeypatch.delenv("IOG_URL", raising=False)
    seen = set()
    for argv in (
        ["--json", "-v", "--url", "http://h/", "jobs", "logs", "-f", "raysubmit_1"],
        ["jobs", "--json", "--url", "http://h/", "logs", "-v", "-f", "raysubmit_1"],
        ["jobs", "logs", "-f", "raysubmit_1", "-v", "--url", "http://h/", "--json"],
    ):
        args = build_parser().parse_args(argv)
        options.resolve(args)
        seen.add((args.url, args.json, args.verbose, args.follow, args.submission_id))
    assert seen == {("http://h/", True, True, True, "raysubmit_1")}
    args = build_parser().parse_args(["jobs", "list"])
    options.resolve(args)
    assert (args.url, args.json, args.verbose) == (None, False, False)


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://127.0.0.1:1/", "up"],
        ["up", "--url", "http://127.0.0.1:1/"],
        ["down", "--url", "http://127.0.0.1:1/"],
        ["actors", "--url", "http://127.0.0.1:1/", "reap"],
        ["--url", "http://127.0.0.1:1/", "actors", "reap"],
    ],
)
def test_local_only_commands_refuse_url_in_either_position(argv, no_iog_state, capsys):
    assert main(argv) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == "" and "local mode only" in err and "--url" in err


def test_local_only_commands_ignore_iog_url(monkeypatch, no_iog_state, capsys):
    monkeypatch.setenv("IOG_URL", "http://127.0.0.1:1/")
    assert main(["down", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"stopped": None}


def test_help_names_url_and_iog_url(capsys):
    for argv in (["--help"], ["jobs", "list", "--help"], ["status", "--help"]):
        assert main(argv) == 0
        assert "--url" in (out := capsys.readouterr().out) and "IOG_URL" in out
    assert main(["up", "--help"]) == 0
    assert "--url" not in capsys.readouterr().out


#: ``state.json`` as the dataclass version of cli/state.py wrote it (``json.dumps(indent=2)``),
#: with a top-level key from some newer iog.
OLD_STATE_JSON = """{
  "version": 1,
  "head": {
    "temp_dir": "/tmp/iog-abc",
    "gcs_port": 6379,
    "dashboard_port": 8265,
    "token_path": "/home/u/.iog/ray_token",
    "single_node": true,
    "num_cpus": 2,
    "num_gpus": null,
    "resources": "{\\"pool:train\\": 2}",
    "node_ip_address": "127.0.0.1"
  },
  "jupyter": {
    "pid": 4242,
    "port": 8888,
    "url": "http://127.0.0.1:8888/",
    "token_path": "/home/u/.iog/jupyter_token",
    "log_path": "/home/u/.iog/jupyter.log",
    "root_dir": "/home/u",
    "app": "lab",
    "allow_root": false
  },
  "future_key": {
    "a": 1
  }
}
"""


def test_state_file_of_the_old_code_loads_and_is_written_back_unchanged(tmp_path):
    from iog_jupyter.cli.state import STATE_FILE, load_state, save_state

    (tmp_path / STATE_FILE).write_text(OLD_STATE_JSON)
    state = load_state(tmp_path)
    assert state is not None and state.head is not None and state.jupyter is not None
    assert state.head.address == "127.0.0.1:6379"
    assert (state.head.num_cpus, state.head.num_gpus) == (2, None)
    assert state.head.resources == '{"pool:train": 2}'
    assert state.jupyter.pid == 4242 and state.jupyter.app == "lab"
    save_state(tmp_path, state)
    assert (tmp_path / STATE_FILE).read_text() == OLD_STATE_JSON


def test_state_file_without_the_defaulted_keys_loads(tmp_path):
    from iog_jupyter.cli.state import STATE_FILE, load_state

    minimal = {
        "head": {"temp_dir": "/t", "gcs_port": 1, "dashboard_port": 2, "token_path": "/k"},
        "jupyter": None,
    }
    (tmp_path / STATE_FILE).write_text(json.dumps(minimal))
    state = load_state(tmp_path)
    assert state is not None and state.version == 1 and state.jupyter is None
    assert state.head is not None and state.head.single_node is True
    assert state.head.node_ip_address == "127.0.0.1"


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        '{"head": {"temp_dir": "/t"}}',
        '{"head": {"temp_dir": "/t", "gcs_port": 1, "dashboard_port": 2, "token_path": "/k",'
        ' "surprise": 1}}',
        '{"version": "one"}',
    ],
)
def test_state_file_that_is_not_iog_state_is_a_clear_error(tmp_path, text):
    from iog_jupyter.cli.state import STATE_FILE, load_state

    (tmp_path / STATE_FILE).write_text(text)
    with pytest.raises(CliError, match="is not an iog state file"):
        load_state(tmp_path)


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
    # Ray's own driver refused (403 internal_driver): the server's words, no token talk, exit 1.
    client = IogClient("http://127.0.0.1:1/", "tok")
    body = {"message": "Session 01000000 is Ray's own driver.", "reason": "internal_driver"}
    internal = client._error(403, body, "sessions/01000000/release")
    assert internal.message == body["message"] and exit_code_of(internal) == 1
    client.close()
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
