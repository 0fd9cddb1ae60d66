"""Nodes joining and leaving a real multi-node Ray head show up in the websocket feed (slow)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from iog_jupyter.core.local_head import (
    LocalHead,
    processes_under,
    stop_processes,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from harness import start_worker_node  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]


async def _next_snapshot(ws, predicate, deadline_s: float):
    """Read websocket messages until a snapshot satisfies ``predicate``."""
    end = time.monotonic() + deadline_s
    seen = []
    while time.monotonic() < end:
        raw = await asyncio.wait_for(ws.read_message(), max(0.1, end - time.monotonic()))
        assert raw is not None, "websocket closed"
        message = json.loads(raw)
        seen.append(message["type"])
        if message["type"] == "snapshot" and predicate(message["data"]):
            return message["data"]
    raise AssertionError(f"no matching snapshot within {deadline_s} s; saw {seen}")


def _worker_pids(head: LocalHead, before: set[int]) -> list[int]:
    return sorted(set(processes_under(head.temp_dir)) - before)


async def test_node_join_and_leave_reach_the_feed(jp_ws_fetch, ray_head):
    ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe")
    first = await _next_snapshot(ws, lambda d: True, 15)
    alive_before = {n["node_id"] for n in first["nodes"] if n["state"] != "DEAD"}

    before = set(processes_under(ray_head.temp_dir))
    await asyncio.to_thread(start_worker_node, ray_head, 1, '{"pool:etl": 1}', None)
    joined = await _next_snapshot(
        ws,
        lambda d: any(
            n["node_id"] not in alive_before and n["state"] != "DEAD" for n in d["nodes"]
        ),
        30,
    )
    new_node = next(n for n in joined["nodes"] if n["node_id"] not in alive_before)
    assert new_node["pool"] == "etl"
    assert new_node["resources_total"]["CPU"] == 1.0
    assert "etl" in [p["name"] for p in joined["pools"]]
    assert joined["totals"]["CPU"] == first["totals"]["CPU"] + 1.0

    # The worker leaves: stop exactly the processes its `ray start` added.
    await asyncio.to_thread(stop_processes, _worker_pids(ray_head, before))
    left = await _next_snapshot(
        ws,
        lambda d: all(
            n["node_id"] != new_node["node_id"] or n["state"] == "DEAD" for n in d["nodes"]
        ),
        60,
    )
    assert left["totals"]["CPU"] == first["totals"]["CPU"]
    assert "etl" not in [p["name"] for p in left["pools"]]
    ws.close()
