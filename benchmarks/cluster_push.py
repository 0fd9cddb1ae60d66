"""Cluster push sizes: ``WS cluster/subscribe?deltas=1`` deltas against whole snapshots.

    python benchmarks/cluster_push.py [--quick] [--json out.json]

No Ray and no server: it generates FakeClusterStatus (``benchmarks/fake_cluster.py``: 2,000 nodes,
100k actors, a *generated* fixture built from Ray's own schema), builds the snapshot with the
real ``build_snapshot``, changes the *Ray status* the way a poll would see a change (one actor
starting on one node, a node dying, a node joining, 1% of the nodes getting an actor, a usage
refresh moving every node's CPU %), rebuilds, and publishes both snapshots through a real
``ClusterMonitor`` (``publish``) to one subscriber with deltas and one without. It prints, per
change, the bytes each subscriber got (the websocket message payload, uncompressed), the time
the delta costs the poll thread, and checks that ``apply_delta(old, delta)`` is the new snapshot.
Target: a change on one node ≤ 5 KB on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(BENCH_DIR)]

import fake_cluster  # noqa: E402
from ray.autoscaler.v2.schema import ClusterStatus, NodeInfo  # noqa: E402

from iog_jupyter.core.cluster import build_snapshot, usage_by_node_id  # noqa: E402
from iog_jupyter.core.cluster_delta import apply_delta, compute_delta  # noqa: E402
from iog_jupyter.core.connection import RayConnection  # noqa: E402
from iog_jupyter.core.local_head import free_port  # noqa: E402
from iog_jupyter.core.monitor import ClusterMonitor  # noqa: E402
from iog_jupyter.core.wire import ClusterDeltaMessage, ClusterSnapshot, NodeUsage  # noqa: E402

TARGET_BYTES = 5 * 1024
NUM_NODES = 2000
NUM_ACTORS = 100_000

Usage = dict[str, NodeUsage]
Change = Callable[[ClusterStatus, Usage], None]


def log(message: str) -> None:
    print(f"[cluster_push] {message}", file=sys.stderr, flush=True)


def _add_used(status: ClusterStatus, info: NodeInfo, name: str, amount: float) -> None:
    """``amount`` more of resource ``name`` in use on ``info`` and in the cluster's sums."""
    assert info.resource_usage is not None
    for item in info.resource_usage.usage:
        if item.resource_name == name:
            amount = min(amount, item.total - item.used)
            item.used += amount
    for item in status.cluster_resource_usage:
        if item.resource_name == name:
            item.used += amount


def _start_actor(status: ClusterStatus, usage: Usage, info: NodeInfo) -> None:
    """An actor holding 4 CPUs starts on ``info`` (IDLE becomes RUNNING; its CPU % rises)."""
    _add_used(status, info, "CPU", 4.0)
    assert info.resource_usage is not None
    info.resource_usage.idle_time_ms = 0
    if info in status.idle_nodes:
        status.idle_nodes.remove(info)
        info.node_status = "RUNNING"
        status.active_nodes.append(info)
    before = usage.get(info.node_id)
    if before is not None:
        usage[info.node_id] = before.model_copy(
            update={"cpu_percent": 37.5, "num_workers": (before.num_workers or 0) + 1}
        )


def one_actor(status: ClusterStatus, usage: Usage) -> None:
    _start_actor(status, usage, status.idle_nodes[len(status.idle_nodes) // 2])


def node_dies(status: ClusterStatus, usage: Usage) -> None:
    info = status.active_nodes[len(status.active_nodes) // 2]
    status.active_nodes.remove(info)
    assert info.resource_usage is not None
    for item in info.resource_usage.usage:
        for total in status.cluster_resource_usage:
            if total.resource_name == item.resource_name:
                total.total -= item.total
                total.used -= item.used
    status.failed_nodes.append(
        dataclasses.replace(
            info, node_status="DEAD", resource_usage=None, details="Raylet health check failed."
        )
    )
    usage.pop(info.node_id, None)


def node_joins(status: ClusterStatus, usage: Usage) -> None:
    model = status.idle_nodes[0]
    node_id = "f" * 56
    joined = copy.deepcopy(model)
    joined.node_id, joined.ip_address, joined.instance_id = node_id, "10.99.0.1", "i-new"
    joined.labels = {**joined.labels, "ray.io/node-id": node_id}
    assert joined.resource_usage is not None
    for item in joined.resource_usage.usage:
        if item.resource_name.startswith("node:"):
            item.resource_name = "node:10.99.0.1"
        for total in status.cluster_resource_usage:
            if total.resource_name == item.resource_name:
                total.total += item.total
                total.used += item.used
    status.idle_nodes.append(joined)
    if model.node_id in usage:
        usage[node_id] = usage[model.node_id]


def one_percent(status: ClusterStatus, usage: Usage) -> None:
    for info in list(status.active_nodes[1 : 1 + NUM_NODES // 100]):
        _start_actor(status, usage, info)


def usage_refresh(status: ClusterStatus, usage: Usage) -> None:
    for node_id, before in list(usage.items()):
        usage[node_id] = before.model_copy(update={"cpu_percent": (before.cpu_percent or 0) + 1})


CHANGES: dict[str, tuple[str, Change]] = {
    "one_actor": ("one node: an actor starts on it (IDLE → ACTIVE, 4 CPUs, CPU %)", one_actor),
    "node_dies": ("one node dies (moves to the DEAD end, leaves its pool)", node_dies),
    "node_joins": ("one node joins (a new record, its pool's node_ids)", node_joins),
    "one_percent": ("1% of the nodes (20): an actor starts on each", one_percent),
    "usage_refresh": ("usage refresh: every live node's CPU % moves", usage_refresh),
}


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def run(quick: bool) -> dict[str, Any]:
    log(f"generating FakeClusterStatus: {NUM_NODES:,} nodes, {NUM_ACTORS:,} actors")
    fake = fake_cluster.make_fake_cluster_status(NUM_NODES, NUM_ACTORS, seed=0)
    base_usage = usage_by_node_id(fake.summary_reply)
    base = build_snapshot(fake.status, base_usage, timestamp_ms=1_000)
    repeat = 3 if quick else 10
    results: dict[str, Any] = {"num_nodes": len(base.nodes), "changes": {}}
    for name, (what, change) in CHANGES.items():
        log(f"{name}: {what}")
        status = copy.deepcopy(fake.status)
        usage = dict(base_usage)
        change(status, usage)
        new = build_snapshot(status, usage, timestamp_ms=3_000)

        # What each kind of subscriber gets on the wire, through a real monitor.
        monitor = ClusterMonitor(
            RayConnection(address=f"127.0.0.1:{free_port()}"), include_usage=False
        )
        plain: list[tuple[str, str]] = []
        deltas: list[tuple[str, str]] = []
        monitor.subscribe(lambda kind, message, got=plain: got.append((kind, message)))
        monitor.subscribe(
            lambda kind, message, got=deltas: got.append((kind, message)), deltas=True
        )
        monitor.publish(base)
        monitor.publish(new)
        (plain_kind, plain_text), (delta_kind, delta_text) = plain[-1], deltas[-1]
        assert plain_kind == "snapshot" and monitor.seq == 2
        if delta_kind == "delta":
            delta = ClusterDeltaMessage.model_validate_json(delta_text)
            assert apply_delta(base, delta).model_dump() == new.model_dump(), name
            counts = {
                "nodes_changed": len(delta.nodes_changed),
                "nodes_added": len(delta.nodes_added),
                "nodes_removed": len(delta.nodes_removed),
                "pools_changed": len(delta.pools_changed),
            }
        else:
            assert ClusterSnapshot.model_validate(json.loads(delta_text)["data"]) == new
            counts = {}

        # The cost on the poll thread: compute_delta + its JSON, and the whole _prepare with and
        # without a delta subscriber (the snapshot's model_dump, key and JSON are paid anyway).
        old_data, new_data = base.model_dump(), new.model_dump()

        def diff(old_data: dict = old_data, new_data: dict = new_data) -> None:
            delta = compute_delta(old_data, new_data, 2)
            if delta is not None:
                delta.model_dump_json()

        diff_ms = _median_ms(diff, repeat)
        prepare_deltas_ms = _median_ms(lambda new=new, m=monitor: m._prepare(new), repeat)
        monitor._delta_listeners.clear()
        prepare_plain_ms = _median_ms(lambda new=new, m=monitor: m._prepare(new), repeat)
        await monitor.stop()
        results["changes"][name] = {
            "what": what,
            "snapshot_bytes": len(plain_text.encode()),
            "sent_kind": delta_kind,
            "sent_bytes": len(delta_text.encode()),
            "diff_ms": diff_ms,
            "prepare_with_deltas_ms": prepare_deltas_ms,
            "prepare_without_ms": prepare_plain_ms,
            **counts,
        }
    return results


def render(results: dict[str, Any]) -> str:
    rows = [
        f"FakeClusterStatus, {results['num_nodes']:,} nodes (a generated fixture). Bytes are "
        "the websocket message payload, uncompressed.",
        "",
        "| change | whole snapshot (no `deltas`) | with `?deltas=1` | ratio | compute_delta + "
        "JSON | poll-thread `_prepare` with / without delta subscribers | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["changes"].items():
        sent = f"{r['sent_bytes']:,} B ({r['sent_kind']})"
        ratio = f"{r['snapshot_bytes'] / r['sent_bytes']:.0f}×"
        target = "—"
        if name == "one_actor":
            target = "≤ 5 KB: " + ("met" if r["sent_bytes"] <= TARGET_BYTES else "NOT met")
        rows.append(
            f"| {r['what']} | {r['snapshot_bytes']:,} B | {sent} | {ratio} | "
            f"{r['diff_ms']:.1f} ms | {r['prepare_with_deltas_ms']:.0f} / "
            f"{r['prepare_without_ms']:.0f} ms | {target} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timing repeats instead of 10")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = asyncio.run(run(args.quick))
    results["elapsed_s"] = time.perf_counter() - start
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    one = results["changes"]["one_actor"]
    return 0 if one["sent_kind"] == "delta" and one["sent_bytes"] <= TARGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
