"""Tests of the CLI's human formatting (pure functions over the wire JSON)."""

from __future__ import annotations

from iog_jupyter.cli.output import clean, format_status, format_used_total

GIB = 1024**3


def _node(name, state, pool, cpu, gpu=0.0, is_head=False, gpus=None):
    return {
        "node_id": f"{name}-0123456789abcdef",
        "node_name": name,
        "node_ip": "10.0.0.1",
        "is_head": is_head,
        "state": state,
        "pool": pool,
        "labels": {},
        "resources_total": {"CPU": cpu, "GPU": gpu, "memory": 8 * GIB},
        "resources_available": {"CPU": cpu / 2, "GPU": 0.0, "memory": 4 * GIB},
        "idle_ms": 0,
        "usage": {"gpus": gpus or []},
    }


SNAPSHOT = {
    "timestamp": "2026-01-01T00:00:00.000Z",
    "totals": {
        "CPU": 10.0,
        "GPU": 2.0,
        "memory": 16 * GIB,
        "object_store_memory": 2 * GIB,
        "pool:train": 1.0,
    },
    "available": {
        "CPU": 5.0,
        "GPU": 0.0,
        "memory": 8 * GIB,
        "object_store_memory": 2 * GIB,
        "pool:train": 1.0,
    },
    "nodes": [
        _node("head", "IDLE", "default", 2.0, is_head=True),
        _node(
            "gpu1",
            "ACTIVE",
            "train",
            8.0,
            gpu=2.0,
            gpus=[
                {
                    "index": 0,
                    "name": "A100",
                    "utilization_percent": 73.0,
                    "memory_used_bytes": 10 * GIB,
                    "memory_total_bytes": 40 * GIB,
                }
            ],
        ),
        _node("gone\x1b[31m", "DEAD", "train", 4.0),
    ],
    "pending_demands": [
        {
            "bundle": {"CPU": 4.0},
            "count": 2,
            "kind": "task_actor",
            "infeasible": False,
            "pool": None,
            "reason": "waiting: no node of the cluster has 4 CPU free right now",
            "waiting": "2 tasks, actors or job drivers",
        }
    ],
    "infeasible_demands": [
        {
            "bundle": {"GPU": 8.0},
            "count": 1,
            "kind": "task_actor",
            "infeasible": True,
            "pool": None,
            "reason": "infeasible: no node of the cluster has 8 GPU in total",
            "waiting": "1 task, actor or job driver",
        }
    ],
    "pools": [
        {
            "name": "default",
            "num_nodes": 1,
            "node_ids": [],
            "totals": {"CPU": 2.0, "GPU": 0.0},
            "available": {"CPU": 1.0, "GPU": 0.0},
        },
        {
            "name": "train",
            "num_nodes": 1,
            "node_ids": [],
            "totals": {"CPU": 8.0, "GPU": 2.0},
            "available": {"CPU": 4.0, "GPU": 0.0},
        },
    ],
}

STATUS = {
    "version": "0.1.0",
    "ray": {"address": "127.0.0.1:6379", "address_source": "RAY_ADDRESS", "auth_mode": "token"},
}


def test_format_status_sections():
    text = format_status(STATUS, SNAPSHOT)
    lines = text.splitlines()
    assert lines[0].startswith("iog 0.1.0: Ray at 127.0.0.1:6379 (from RAY_ADDRESS), auth token")
    assert " pool train: 1 node" in lines
    assert any(line.startswith("  head (head, head-0123456") for line in lines)
    assert " 5/10 CPU" in lines
    assert " 2/2 GPU" in lines
    assert " 8.00/16.00 GiB memory" in lines
    assert " 0/1 pool:train" in lines
    assert any("GPU 0 A100: 73% util, 10.0/40.0 GiB" in line for line in lines)
    assert any("train (1 node): 4/8 CPU, 2/2 GPU" in line for line in lines)
    assert any('{"CPU": 4.0} for 2 tasks, actors or job drivers: waiting' in line for line in lines)
    assert any('{"GPU": 8.0} for 1 task, actor or job driver: infeasible' in line for line in lines)
    assert "Recent failures:" in lines


def test_untrusted_text_has_no_control_characters():
    text = format_status(STATUS, SNAPSHOT)
    assert "\x1b" not in text
    assert "gone?[31m" in text
    assert clean("a\nb\tc") == "a?b?c"


def test_empty_cluster_views():
    empty = {
        "timestamp": "",
        "totals": {"CPU": 0.0},
        "available": {"CPU": 0.0},
        "nodes": [],
        "pending_demands": [],
        "infeasible_demands": [],
        "pools": [],
    }
    text = format_status({"ray": {}}, empty)
    assert "(no active nodes)" in text and "(no failures)" in text
    assert "(no resource demands)" in text


def test_format_used_total_units():
    assert (
        format_used_total("object_store_memory", 2 * GIB, GIB)
        == "1.00/2.00 GiB object_store_memory"
    )
    assert format_used_total("CPU", 4.0, 4.0) == "0/4 CPU"
