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


async def test_a_head_killed_inside_a_poll_is_shown_within_the_interval(restartable_head):
    """Ray's client retries a call whose GCS died for up to a minute; the outage shows at once.

    The GCS is frozen (SIGSTOP) so that a poll of the server's monitor and one of a kernel's
    refresher are certainly inside a Ray call when the head is SIGKILLed; their deadlines
    (30 s) are far beyond the figure (interval + 1 s).
    """
    import os
    import signal

    from iog_jupyter.core.connection import RayConnection
    from iog_jupyter.core.monitor import ClusterMonitor
    from iog_jupyter.widgets.refresher import SharedRefresher
    from iog_jupyter.widgets.snapshots import RaySnapshots

    head = restartable_head
    interval = 0.5

    def connection() -> RayConnection:
        return RayConnection(address=head.address, token_path=head.token_path, request_timeout_s=30)

    monitor = ClusterMonitor(connection(), refresh_interval_s=interval, call_timeout_s=30.0)
    monitor.start()
    calls = [0]

    class Counted(RaySnapshots):
        def __call__(self):
            calls[0] += 1
            return super().__call__()

    snapshots = Counted(connection())
    refresher = SharedRefresher(lambda: snapshots)
    seen: list[str | None] = []
    sub = refresher.subscribe(lambda snap, err: seen.append(err), interval)
    try:
        assert await monitor.poll_once() is not None and monitor.connected is True
        await _until(lambda: seen and seen[-1] is None, 20)
        gcs = [p for p in processes_under(head.temp_dir) if b"gcs_server" in read_cmdline(p)]
        assert len(gcs) == 1
        os.kill(gcs[0], signal.SIGSTOP)
        ours, kernels = monitor.ray_calls, calls[0]
        # Both poll again: the calls are now inside the frozen GCS.
        await _until(lambda: monitor.ray_calls > ours and calls[0] > kernels, 10)
        await asyncio.sleep(interval)
        assert monitor.connected is True and seen[-1] is None
        for pid in processes_under(head.temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        killed = time.monotonic()
        await _until(lambda: monitor.connected is False and seen[-1] is not None, interval + 1.0)
        assert time.monotonic() - killed <= interval + 1.0
        for message in (monitor.last_error, seen[-1]):
            assert head.address in message and "iog up" in message, message
        assert not monitor._in_flight.done(), "the poll left Ray's call to finish on its thread"
    finally:
        started = time.monotonic()
        refresher.unsubscribe(sub)
        assert time.monotonic() - started < 2.0, "a call stuck in Ray held up the refresher"
        await monitor.stop()
        snapshots.close()
        stop_head(head.temp_dir, grace_s=1)
        await asyncio.to_thread(
            start_head, head.temp_dir, head.token_path, head.gcs_port, head.dashboard_port, 1
        )


async def _until(predicate, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        assert time.monotonic() < end, "not in time"
        await asyncio.sleep(0.02)
