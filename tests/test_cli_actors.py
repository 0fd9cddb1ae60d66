"""Tests of `iog actors`, locally (core) and through a pytest-jupyter server, on the real head."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid

import pytest

from iog_jupyter.cli.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from iog_jupyter.cli.main import main
from tests.fixtures import server_config

from .test_core_actors import run_driver

pytestmark = pytest.mark.ray

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def made(ray_head) -> str:
    """A fresh namespace with ``keep`` (TTL 1 h), ``brief`` (TTL 1 s), ``victim`` and ``remote``."""
    ns = f"iotc-{uuid.uuid4().hex[:8]}"
    run_driver(
        ray_head,
        [
            ["iog", "keep", ns, {"ttl_s": 3600}],
            ["iog", "brief", ns, {"ttl_s": 1}],
            ["iog", "victim", ns, {}],
            ["iog", "remote", ns, {}],
            ["plain", f"svc-{ns}", "serve", {}],
        ],
    )
    return ns


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_local_list_kill_and_reap(made, capsys):
    ns = made
    code, out, err = run(capsys, "actors", "list", "--namespace", ns, "--json")
    assert code == EXIT_OK, err
    by_name = {a["name"]: a for a in json.loads(out)["actors"]}
    assert {"keep", "brief", "victim", "remote"} <= set(by_name)
    assert by_name["keep"]["ttl_s"] == 3600 and by_name["keep"]["owner"]
    code, out, err = run(capsys, "actors", "list", "-n", ns)
    assert code == EXIT_OK and out.split()[:8] == [
        "NAMESPACE",
        "NAME",
        "STATE",
        "CLASS",
        "OWNER",
        "CREATED",
        "TTL",
        "EXPIRES",
    ]
    assert any(line.split()[1:3] == ["keep", "ALIVE"] for line in out.splitlines())

    code, _, err = run(capsys, "actors", "kill", f"svc-{ns}", "-n", "serve")
    assert code == EXIT_ERROR and "will not touch" in err and "Traceback" not in err
    code, _, err = run(capsys, "actors", "kill", "nobody", "-n", ns)
    # A typo'd name is named back, with where to look.
    assert code == EXIT_ERROR and f"No live actor is named 'nobody' in namespace '{ns}'" in err
    assert "`iog actors list --named`" in err
    code, out, err = run(capsys, "actors", "kill", "victim", "-n", ns)
    assert code == EXIT_OK and "Killed actor victim" in out, err

    time.sleep(1.1)  # "brief" expires
    code, out, err = run(capsys, "actors", "reap")
    assert code == EXIT_OK, err
    assert f"Killed {ns}/brief: its TTL of 1 s ran out." in out
    assert f"{ns}/keep" not in out
    deadline = time.monotonic() + 30
    while True:
        code, out, _ = run(capsys, "actors", "list", "-n", ns, "--json", "--all")
        names = {a["name"] for a in json.loads(out)["actors"]}
        if not {"brief", "victim"} & names:
            break
        assert time.monotonic() < deadline, names
        time.sleep(0.3)
    assert {"keep", "remote"} <= names
    code, out, _ = run(capsys, "actors", "list", "-n", "serve", "--json")
    assert f"svc-{ns}" in {a["name"] for a in json.loads(out)["actors"]}


@pytest.mark.parametrize(
    "argv, word",
    [
        (["actors", "list", "--limit", "0"], "--limit"),
        (["actors", "list", "--state", "NAPPING"], "NAPPING"),
        (["actors", "kill", "x", "-n", ""], "namespace"),
        (["actors", "kill", "x"], "--namespace"),
        (["actors", "reap", "--url", "http://127.0.0.1:1/"], "--url"),
    ],
)
def test_local_bad_input_is_exit_2(made, capsys, argv, word):
    code, _, err = run(capsys, *argv)
    assert code == EXIT_USAGE and word in err and "Traceback" not in err


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    return server_config(jobs_state_dir=tmp_path / "iog_state")


async def iog(url: str, token: str, *args: str) -> tuple[int, str, str]:
    """`iog actors <args> --url URL` in a child process (the test loop keeps serving Jupyter)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    env.update(PYTHONPATH=REPO, IOG_TOKEN=token)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iog_jupyter.cli",
        "actors",
        *args,
        "--url",
        url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def test_remote_list_and_kill(made, jp_serverapp, server_url, capsys):
    ns = made
    url = server_url
    token = jp_serverapp.identity_provider.token
    # An unknown state: the server's 400 and local mode say the same, both exit 2.
    code, _, err = await iog(url, token, "list", "--state", "alive,napping")
    local_code, _, local_err = run(capsys, "actors", "list", "--state", "alive,napping")
    assert (code, err) == (local_code, local_err)
    assert code == EXIT_USAGE and "Unknown actor state 'NAPPING'; use one or more of" in err
    code, out, err = await iog(url, token, "list", "-n", ns, "--json")
    assert code == EXIT_OK, err
    assert {"keep", "remote"} <= {a["name"] for a in json.loads(out)["actors"]}
    code, _, err = await iog(url, token, "kill", f"svc-{ns}", "-n", "serve")
    # A protected actor is the server's refusal, not a credentials problem.
    assert code == EXIT_ERROR and "will not touch" in err and "token" not in err
    code, _, err = await iog(url, token, "kill", "nobody", "-n", ns)
    assert code == EXIT_ERROR and "'nobody'" in err and "`iog actors list --named`" in err
    code, out, err = await iog(url, token, "kill", "remote", "-n", ns, "--json")
    assert code == EXIT_OK, err
    assert json.loads(out)["killed"] is True
    code, _, err = await iog(url, "wrong-token", "list")
    assert code == 4 and "refused" in err
