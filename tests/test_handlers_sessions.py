"""Sessions through the server: real kernels connect() to the real Ray head; release; policy."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import REPO, api, server_config, session_driver, start_session_driver

pytestmark = pytest.mark.ray

HOLD = """
import ray, iog_jupyter.core.sessions.connect as d
info = d.connect()
@ray.remote(num_cpus=0.1)
class Holder:
    def ping(self):
        return "pong"
holders = [Holder.remote() for _ in range({n})]
print("pings", ray.get([h.ping.remote() for h in holders]))
"""
DETACHED = """
keeper = Holder.options(name="keep-" + info.job_id, lifetime="detached").remote()
print("keeper", ray.get(keeper.ping.remote()))
"""
TINY_POLICY = {
    "idle_warn_after_s": 2.0,
    "idle_release_after_s": 7.0,
    "idle_release_resources": ["CPU"],
    "idle_check_interval_s": 0.5,
}


@pytest.fixture
def idle_policy(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Idle-policy traits for the server (``indirect`` parametrization; off by default)."""
    return getattr(request, "param", {})


@pytest.fixture
def jp_server_config(ray_head, tmp_path, idle_policy, monkeypatch):
    """iog_jupyter with its own audit log; kernels import iog_jupyter from this checkout."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return server_config(
        refresh_interval_s=0.5,
        request_timeout_s=30.0,
        jobs_state_dir=tmp_path / "iog_state",
        **idle_policy,
    )


async def start_notebook(jp_fetch, path: str) -> str:
    """Open a notebook session (as JupyterLab does); returns its kernel id."""
    reply = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps({"path": path, "type": "notebook", "kernel": {"name": "python3"}}),
    )
    return json.loads(reply.body)["kernel"]["id"]


async def run(serverapp, kernel_id: str, code: str, timeout_s: float = 120) -> str:
    """Execute code in a kernel of the server; its stdout, or AssertionError with the error."""
    client = serverapp.kernel_manager.get_kernel(kernel_id).client()
    client.start_channels()
    out: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("ERROR " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])

    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(code, timeout=timeout_s, output_hook=hook)
    finally:
        client.stop_channels()
    text = "".join(out)
    assert reply["content"]["status"] == "ok", text
    return text


async def sessions(jp_fetch) -> dict[str, dict]:
    """``GET sessions`` by kernel id (drivers without a kernel under their job id)."""
    status, body = await api(jp_fetch, "sessions")
    assert status == 200, body
    return {s["kernel_id"] or s["session_id"]: s for s in body["sessions"]}


def audit_lines(tmp_path: Path) -> list[dict]:
    """The server's audit records."""
    path = tmp_path / "iog_state" / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_two_notebooks_are_attributed_and_release_frees_exactly_one(
    jp_fetch, jp_serverapp, tmp_path
):
    kernel_a = await start_notebook(jp_fetch, "work/a.ipynb")
    kernel_b = await start_notebook(jp_fetch, "b.ipynb")
    await run(jp_serverapp, kernel_a, HOLD.format(n=2) + DETACHED)
    await run(jp_serverapp, kernel_b, HOLD.format(n=2))
    found = await sessions(jp_fetch)
    a, b = found[kernel_a], found[kernel_b]
    for record, path in ((a, "work/a.ipynb"), (b, "b.ipynb")):
        assert record["kind"] == "notebook" and record["local_kernel"] is True
        assert record["attributed_by"] == ["metadata", "pid"]
        assert record["notebook_path"] == path and record["owner"]
        assert record["execution_state"] in ("idle", "busy")
        assert record["actors"] == 2 and record["resources"]["CPU"] == pytest.approx(0.2)
        assert record["idle_s"] is not None and record["policy"]["state"] == "off"
    assert a["detached_actors"] == 1 and b["detached_actors"] == 0

    status, reply = await api(jp_fetch, "sessions", kernel_a, "release", method="POST")
    assert status == 200, reply
    assert len(reply["killed_actors"]) == 2 and reply["kept_detached_actors"] == 1
    after = await sessions(jp_fetch)
    assert after[kernel_a]["actors"] == 0 and after[kernel_a]["detached_actors"] == 1
    assert after[kernel_b]["actors"] == 2
    # The other notebook's actors still answer; the released one's are gone.
    assert "pings ['pong', 'pong']" in await run(
        jp_serverapp, kernel_b, "print('pings', ray.get([h.ping.remote() for h in holders]))"
    )
    died = await run(
        jp_serverapp,
        kernel_a,
        "try:\n    ray.get(holders[0].ping.remote(), timeout=30)\n"
        "except ray.exceptions.RayActorError as e:\n    print('died', type(e).__name__)\n"
        "print('keeper', ray.get(keeper.ping.remote()))\nray.kill(keeper)",
    )
    assert "died" in died and "keeper pong" in died
    record = [r for r in audit_lines(tmp_path) if r["action"] == "session.release"][-1]
    assert record["outcome"] == "allowed" and a["session_id"] in record["target"]


async def test_bad_input_is_refused_and_changes_nothing(jp_fetch, jp_serverapp, ray_head, tmp_path):
    proc = start_session_driver(ray_head, "foreign", "--actors", "1")
    try:
        job = proc.stdout.readline().split()[1]
        for bad in ("not-an-id", "0100000g", "x" * 300):
            status, body = await api(jp_fetch, "sessions", bad, "release", method="POST")
            assert status == 400 and "job id" in body["message"], (bad, body)
        status, body = await api(jp_fetch, "sessions", "7fffff00", "release", method="POST")
        assert status == 404 and body["reason"] == "session_not_found"
        assert "7fffff00" in body["message"] and "iog sessions list" in body["message"]
        status, body = await api(jp_fetch, "sessions", limit="3")
        assert status == 400 and "limit" in body["message"]
        # A script's driver is not a kernel of this server: refused, its actor untouched.
        status, body = await api(jp_fetch, "sessions", job, "release", method="POST")
        assert status == 403 and body["reason"] == "foreign_session"
        assert "sessions_release_foreign" in body["message"]
        found = await sessions(jp_fetch)
        assert found[job]["kind"] == "script" and found[job]["actors"] == 1
        outcomes = [r["outcome"] for r in audit_lines(tmp_path) if r["action"] == "session.release"]
        assert outcomes == ["refused"] * 5
    finally:
        proc.kill()
        proc.wait(timeout=30)


async def test_rays_own_drivers_are_hidden_and_never_released(jp_fetch, ray_head, tmp_path):
    from iog_jupyter.core.connection import RayConnection
    from iog_jupyter.core.errors import ForbiddenError
    from iog_jupyter.core.sessions.drivers import list_sessions, release_session

    namespace = "_ray_internal_iogtest"  # as Ray's dashboard driver's `_ray_internal_dashboard`
    with session_driver(
        ray_head, "internal", "--plain", "--actors", "1", "--namespace", namespace
    ) as (
        _,
        job,
    ):
        assert job not in await sessions(jp_fetch)
        status, body = await api(jp_fetch, "sessions", internal="true")
        shown = {s["session_id"]: s for s in body["sessions"]}
        assert status == 200 and shown[job]["internal"] is True
        assert shown[job]["label"] == "Ray's own driver (iogtest)"
        status, body = await api(jp_fetch, "sessions", job, "release", method="POST")
        assert status == 403 and body["reason"] == "internal_driver", body
        assert namespace in body["message"] and "never released" in body["message"]
        # The CLI's and the widgets' local path refuses it the same way.
        conn = RayConnection(address=ray_head.address, token_path=ray_head.token_path)
        assert job not in {s.session_id for s in list_sessions(conn)}
        assert job in {s.session_id for s in list_sessions(conn, internal=True)}
        with pytest.raises(ForbiddenError) as refused:
            release_session(conn, job)
        assert refused.value.reason == "internal_driver"
        status, body = await api(jp_fetch, "sessions", internal="true")
        assert {s["session_id"]: s for s in body["sessions"]}[job]["actors"] == 1  # untouched
        outcomes = [r["outcome"] for r in audit_lines(tmp_path) if r["action"] == "session.release"]
        assert outcomes == ["refused"]


@pytest.mark.parametrize("idle_policy", [TINY_POLICY], indirect=True)
async def test_idle_policy_warns_then_releases_and_respects_keep_alive(
    jp_fetch, jp_serverapp, tmp_path
):
    idle = await start_notebook(jp_fetch, "idle.ipynb")
    kept = await start_notebook(jp_fetch, "kept.ipynb")
    await run(jp_serverapp, kept, HOLD.format(n=1) + "print('until', d.keep_alive(hours=1))")
    await run(jp_serverapp, idle, HOLD.format(n=2) + DETACHED)
    states: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = await sessions(jp_fetch)
        states.append(found[idle]["policy"]["state"])
        if states[-1] == "released":
            break
        await asyncio.sleep(0.3)
    assert "warned" in states and states[-1] == "released", states
    warned = next(s for s in states if s == "warned")
    assert warned
    # Ray records a killed actor's death asynchronously (seconds, on a loaded Ray 2.40).
    deadline = time.monotonic() + 15
    found = await sessions(jp_fetch)
    while found[idle]["actors"] != 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        found = await sessions(jp_fetch)
    assert found[idle]["actors"] == 0 and found[idle]["detached_actors"] == 1
    assert found[kept]["actors"] == 1 and found[kept]["policy"]["state"] == "exempt"
    assert found[kept]["policy"]["keep_alive_until_ms"] > time.time() * 1000
    records = audit_lines(tmp_path)
    mine = [r for r in records if found[idle]["session_id"] in (r["target"] or "")]
    assert [r["action"] for r in mine] == ["session.idle_warn", "session.idle_release"]
    assert "killed 2 actor(s)" in mine[1]["detail"] and mine[1]["user"] == "iog-idle-policy"
    assert not [r for r in records if found[kept]["session_id"] in (r["target"] or "")]
    # The detached actor survived the policy.
    assert "keeper pong" in await run(
        jp_serverapp, idle, "print('keeper', ray.get(keeper.ping.remote()))\nray.kill(keeper)"
    )
