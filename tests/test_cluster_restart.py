"""A Ray head stopped and restarted: status goes disconnected, then connected, Jupyter untouched."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from iog_jupyter.core import local_head
from iog_jupyter.core.local_head import processes_under, read_cmdline, start_head, stop_head
from tests.fixtures import head_traits, server_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture
def jp_server_config(restartable_head):
    """Point this module's Jupyter servers at the restartable head through traits."""
    return server_config(refresh_interval_s=0.5, max_backoff_s=2.0, **head_traits(restartable_head))


async def _status(jp_fetch):
    reply = await jp_fetch("iog", "api", "v1", "status")
    return json.loads(reply.body)


async def _wait_status(jp_fetch, connected: bool, deadline_s: float):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        data = await _status(jp_fetch)
        if data["ray"]["connected"] is connected:
            return data
        await asyncio.sleep(0.25)
    raise AssertionError(f"status never became connected={connected}")


async def test_head_restart_goes_disconnected_then_recovers(
    jp_fetch, restartable_head, monkeypatch
):
    head = restartable_head
    up = await _wait_status(jp_fetch, True, 20)
    assert up["ray"]["address"] == head.address

    # The GCS is stopped last, alone: the others stop quickly only while it answers.
    gcs = [p for p in processes_under(head.temp_dir) if b"gcs_server" in read_cmdline(p)]
    assert len(gcs) == 1
    stopped: list[list[int]] = []
    real = local_head.stop_processes
    monkeypatch.setattr(local_head, "stop_processes", lambda p, g: stopped.append(p) or real(p, g))
    await asyncio.to_thread(stop_head, head.temp_dir)
    monkeypatch.undo()
    assert stopped[-1] == gcs and all(gcs[0] not in pids for pids in stopped[:-1]), stopped
    assert len(stopped) == 2 and stopped[0] and processes_under(head.temp_dir) == []
    down = await _wait_status(jp_fetch, False, 20)
    assert head.address in down["last_error"]
    assert "iog up" in down["last_error"]
    with pytest.raises(Exception) as info:
        await jp_fetch("iog", "api", "v1", "cluster")
    assert info.value.code == 503
    body = json.loads(info.value.response.body)
    assert body["reason"] == "ray_unavailable"
    assert head.address in body["message"]
    assert "Traceback" not in body["message"]

    await asyncio.to_thread(
        start_head,
        head.temp_dir,
        head.token_path,
        head.gcs_port,
        head.dashboard_port,
        1,
    )
    again = await _wait_status(jp_fetch, True, 60)
    assert again["last_error"] is None
    reply = await jp_fetch("iog", "api", "v1", "cluster")
    assert json.loads(reply.body)["totals"]["CPU"] == 1.0
