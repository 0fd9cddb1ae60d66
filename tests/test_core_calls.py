"""Lanes: a slow kind of call cannot hold another; deadlines say if Ray or the queue ran out."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from iog_jupyter.core.calls import Lanes
from iog_jupyter.core.errors import RayUnavailableError


async def test_a_blocked_lane_does_not_hold_another() -> None:
    lanes = Lanes(workers=1, timeout_s=5.0)
    release = threading.Event()
    try:
        stuck = asyncio.ensure_future(lanes.run("jobs", release.wait))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        assert await lanes.run("sessions", lambda: "sessions answered") == "sessions answered"
        assert time.monotonic() - started < 1.0
        assert not stuck.done()
        release.set()
        assert await stuck is True
    finally:
        release.set()
        lanes.shutdown()


async def test_deadlines_say_whether_ray_or_the_queue_ran_out() -> None:
    lanes = Lanes(workers=1, timeout_s=0.3)
    release = threading.Event()
    try:
        in_ray = asyncio.ensure_future(lanes.run("jobs", release.wait))
        await asyncio.sleep(0.05)
        with pytest.raises(RayUnavailableError) as queued:
            await lanes.run("jobs", lambda: None)
        assert queued.value.reason == "server_busy"
        assert "never started" in queued.value.message and "jobs" in queued.value.message
        with pytest.raises(RayUnavailableError) as slow:
            await in_ray
        assert slow.value.reason == "ray_unavailable"
        assert slow.value.message == "Ray did not answer within 0.3 s."
    finally:
        release.set()
        lanes.shutdown()


async def test_a_ray_call_is_refused_at_once_while_ray_is_known_down() -> None:
    down: list[str] = ["Ray is not reachable at 127.0.0.1:1 (from a trait): refused."]
    lanes = Lanes(workers=1, timeout_s=5.0, ray_down=lambda: down[0] if down else None)
    ran: list[str] = []
    try:
        with pytest.raises(RayUnavailableError) as refused:
            await lanes.run("actors", ran.append, "ray call")
        assert refused.value.message == down[0] and refused.value.reason == "ray_unavailable"
        assert ran == []
        # Calls that do not talk to Ray (the doctor, package uploads) still run.
        await lanes.run("other", ran.append, "local call", needs_ray=False)
        down.clear()
        await lanes.run("actors", ran.append, "ray call")
        assert ran == ["local call", "ray call"]
    finally:
        lanes.shutdown()
