"""Cluster deltas without Ray: compute, apply, sequence numbers, resync; the monitor's fan-out.

Snapshots come from FakeClusterStatus (benchmarks/fake_cluster.py, a generated fixture), changed
here the way a poll would see them change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from iog_jupyter.core import cluster_delta
from iog_jupyter.core import monitor as monitor_module
from iog_jupyter.core.cluster import build_snapshot, usage_by_node_id
from iog_jupyter.core.cluster_delta import (
    OTHER_FIELDS,
    WHOLE_FIELDS,
    DeltaFollower,
    DeltaMismatch,
    apply_delta,
    compute_delta,
)
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.local_head import free_port
from iog_jupyter.core.monitor import ClusterMonitor
from iog_jupyter.core.wire import ClusterDeltaMessage, ClusterSnapshot, PoolSummary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from fake_cluster import make_fake_cluster_status  # noqa: E402


def _fake(num_nodes: int, num_actors: int) -> ClusterSnapshot:
    fake = make_fake_cluster_status(num_nodes=num_nodes, num_actors=num_actors, seed=3)
    return build_snapshot(fake.status, usage_by_node_id(fake.summary_reply), timestamp_ms=1000)


@pytest.fixture(scope="module")
def base() -> ClusterSnapshot:
    return _fake(60, 2000)


def _next(snapshot: ClusterSnapshot) -> ClusterSnapshot:
    """A deep copy one poll later."""
    new = snapshot.model_copy(deep=True)
    new.timestamp_ms += 2000
    return new


def _start_actor(snapshot: ClusterSnapshot, index: int, cpus: float = 4.0) -> ClusterSnapshot:
    """One poll later, an actor holding ``cpus`` started on node ``index``."""
    new = _next(snapshot)
    node = new.nodes[index]
    node.state = "ACTIVE"
    node.resources_available["CPU"] -= cpus
    new.available["CPU"] -= cpus
    pool = next(p for p in new.pools if p.name == node.pool)
    pool.available["CPU"] -= cpus
    return new


def _round_trip(old: ClusterSnapshot, new: ClusterSnapshot, seq: int = 2) -> ClusterDeltaMessage:
    """The delta from old to new, through its JSON, checked to rebuild new exactly."""
    delta = compute_delta(old.model_dump(), new.model_dump(), seq)
    assert delta is not None
    delta = ClusterDeltaMessage.model_validate_json(delta.model_dump_json())
    assert apply_delta(old, delta).model_dump() == new.model_dump()
    return delta


def test_every_snapshot_field_is_handled() -> None:
    fields = set(ClusterSnapshot.model_fields) | set(ClusterSnapshot.model_computed_fields)
    assert fields == set(WHOLE_FIELDS) | set(OTHER_FIELDS)
    assert set(WHOLE_FIELDS) <= set(ClusterDeltaMessage.model_fields)


def test_one_node_changed(base: ClusterSnapshot) -> None:
    index = next(i for i, n in enumerate(base.nodes) if not n.is_head and n.state != "DEAD")
    new = _start_actor(base, index)
    delta = _round_trip(base, new, seq=7)
    assert delta.seq == 7 and delta.timestamp_ms == new.timestamp_ms
    assert delta.timestamp == new.timestamp
    assert [(p.index, p.node.node_id) for p in delta.nodes_changed] == [
        (index, new.nodes[index].node_id)
    ]
    assert delta.nodes_added == [] and delta.nodes_removed == []
    assert delta.available == new.available and delta.totals is None
    assert delta.pending_demands is None and delta.infeasible_demands is None
    (pool,) = delta.pools_changed
    assert pool.name == new.nodes[index].pool
    assert pool.node_ids_added == [] and pool.node_ids_removed == []
    assert delta.num_nodes == len(new.nodes)


def test_nodes_added_and_removed(base: ClusterSnapshot) -> None:
    new = _next(base)
    gone = new.nodes.pop(5)
    new.pools = [
        p.model_copy(update={"node_ids": [i for i in p.node_ids if i != gone.node_id]})
        for p in new.pools
    ]
    for pool in new.pools:
        pool.num_nodes = len(pool.node_ids)
    joined = new.nodes[3].model_copy(deep=True, update={"node_id": "f" * 56, "idle_ms": 10})
    new.nodes.insert(4, joined)
    target = next(p for p in new.pools if p.name == joined.pool)
    target.node_ids.insert(2, joined.node_id)
    target.num_nodes += 1
    new.totals["CPU"] += 1
    delta = _round_trip(base, new)
    assert delta.nodes_removed == [gone.node_id]
    assert [(p.index, p.node.node_id) for p in delta.nodes_added] == [(4, joined.node_id)]
    assert delta.nodes_changed == []
    assert delta.totals == new.totals and delta.available is None
    changes = {p.name: p for p in delta.pools_changed}
    assert [(a.index, a.node_id) for a in changes[joined.pool].node_ids_added] == [
        (2, joined.node_id)
    ]
    assert gone.node_id in changes[gone.pool].node_ids_removed


def test_a_node_that_dies_moves_to_its_new_place(base: ClusterSnapshot) -> None:
    index = next(i for i, n in enumerate(base.nodes) if not n.is_head and n.state != "DEAD")
    new = _next(base)
    node = new.nodes.pop(index)
    node.state = "DEAD"
    node.usage = None
    new.nodes.append(node)  # build_snapshot sorts DEAD nodes last
    pool = next(p for p in new.pools if p.name == node.pool)
    pool.node_ids.remove(node.node_id)
    pool.num_nodes -= 1
    delta = _round_trip(base, new)
    assert [(p.index, p.node.node_id) for p in delta.nodes_changed] == [
        (len(new.nodes) - 1, node.node_id)
    ]
    (change,) = delta.pools_changed
    assert change.node_ids_removed == [node.node_id]


def test_pools_appear_and_disappear(base: ClusterSnapshot) -> None:
    new = _next(base)
    dropped = new.pools.pop(1)
    fresh = PoolSummary(
        name="zz-new", num_nodes=1, node_ids=["a" * 56], totals={"CPU": 1}, available={}
    )
    new.pools.append(fresh)
    delta = _round_trip(base, new)
    assert delta.pools_removed == [dropped.name]
    assert [(p.name, p.index) for p in delta.pools_changed] == [("zz-new", len(new.pools) - 1)]


def test_demands_and_idle_ticks(base: ClusterSnapshot) -> None:
    new = _next(base)
    new.pending_demands = new.pending_demands[1:]
    for node in new.nodes:
        if node.idle_ms is not None:
            node.idle_ms += 2000
    delta = compute_delta(base.model_dump(), new.model_dump(), 2)
    assert delta is not None
    assert delta.pending_demands == new.pending_demands and delta.infeasible_demands is None
    # idle_ms ticking alone is not a change of the node: it is not sent.
    assert delta.nodes_changed == [] and delta.pools_changed == []
    applied = apply_delta(base, delta)
    assert applied.pending_demands == new.pending_demands
    assert [n.idle_ms for n in applied.nodes] == [n.idle_ms for n in base.nodes]


def test_whole_snapshot_when_a_delta_cannot_say_it(base: ClusterSnapshot) -> None:
    old = base.model_dump()
    # More than half the nodes changed.
    many = _next(base)
    for node in many.nodes:
        node.labels["x"] = "y"
    assert compute_delta(old, many.model_dump(), 2) is None
    # Unchanged nodes in another order.
    swapped = _next(base)
    swapped.nodes[1], swapped.nodes[2] = swapped.nodes[2], swapped.nodes[1]
    assert compute_delta(old, swapped.model_dump(), 2) is None
    # A field this module does not know.
    assert compute_delta(old, {**base.model_dump(), "new_field": 1}, 2) is None
    # Repeated ids.
    repeated = _next(base)
    repeated.nodes.append(repeated.nodes[3])
    assert compute_delta(old, repeated.model_dump(), 2) is None


def test_a_delta_that_does_not_fit_is_refused(base: ClusterSnapshot) -> None:
    index = next(i for i, n in enumerate(base.nodes) if not n.is_head and n.state != "DEAD")
    new = _start_actor(base, index)
    delta = _round_trip(base, new)
    other = base.model_copy(
        update={"nodes": [n for n in base.nodes if n.node_id != new.nodes[index].node_id]}
    )
    with pytest.raises(DeltaMismatch):
        apply_delta(other, delta)
    wrong_count = delta.model_copy(update={"num_nodes": delta.num_nodes + 1})
    with pytest.raises(DeltaMismatch):
        apply_delta(base, wrong_count)
    readded = delta.model_copy(update={"nodes_added": delta.nodes_changed, "nodes_changed": []})
    with pytest.raises(DeltaMismatch):
        apply_delta(base, readded)


def _message(snapshot: ClusterSnapshot, seq: int) -> dict:
    return {"type": "snapshot", "seq": seq, "data": snapshot.model_dump(mode="json")}


def test_follower_applies_in_sequence_and_resyncs_on_a_gap(base: ClusterSnapshot) -> None:
    index = next(i for i, n in enumerate(base.nodes) if not n.is_head and n.state != "DEAD")
    one = _start_actor(base, index, 1.0)
    two = _start_actor(one, index, 1.0)
    three = _start_actor(two, index, 1.0)
    d1 = json.loads(_round_trip(base, one, seq=6).model_dump_json())
    d2 = json.loads(_round_trip(one, two, seq=7).model_dump_json())
    d3 = json.loads(_round_trip(two, three, seq=8).model_dump_json())

    follower = DeltaFollower()
    # A delta before any snapshot: ask for one.
    assert follower.receive(d1) == {"type": "resync"}
    assert follower.receive(_message(base, 5)) is None
    assert follower.seq == 5 and not follower.resyncing
    assert follower.receive(d1) is None
    assert follower.seq == 6 and follower.snapshot.model_dump() == one.model_dump()
    # d2 was lost: d3 is a gap; the follower asks once and waits for the snapshot.
    assert follower.receive(d3) == {"type": "resync"}
    assert follower.receive(d3) is None and follower.resyncs == 2
    assert follower.seq == 6
    assert follower.receive(_message(three, 8)) is None
    assert follower.seq == 8 and follower.snapshot.model_dump() == three.model_dump()
    # A replayed (old) delta is a mismatch too.
    assert follower.receive(d2) == {"type": "resync"}
    # Status messages change nothing.
    assert follower.receive({"type": "status", "connected": True}) is None


# -- the monitor: one delta per change, shared by every delta subscriber -----------------------


def _monitor() -> ClusterMonitor:
    """A monitor that never polls (no Ray): the tests publish its snapshots."""
    conn = RayConnection(address=f"127.0.0.1:{free_port()}", connect_timeout_s=0.2)
    return ClusterMonitor(conn, include_usage=False)


async def test_monitor_computes_one_delta_for_all_subscribers(base, monkeypatch):
    monitor = _monitor()
    calls = []
    real = cluster_delta.compute_delta

    def counting(*args):
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(monitor_module, "compute_delta", counting)
    plain: list[tuple[str, str]] = []
    deltas_a: list[tuple[str, str]] = []
    deltas_b: list[tuple[str, str]] = []
    monitor.subscribe(lambda kind, message: plain.append((kind, message)))
    monitor.subscribe(lambda kind, message: deltas_a.append((kind, message)), deltas=True)
    monitor.subscribe(lambda kind, message: deltas_b.append((kind, message)), deltas=True)
    assert monitor.num_subscribers == 3 and monitor.seq == 0

    monitor.publish(base)
    assert monitor.seq == 1 and calls == []  # nothing to diff against yet
    assert [k for k, _ in deltas_a] == ["status", "snapshot"]
    assert json.loads(deltas_a[-1][1])["seq"] == 1

    index = next(i for i, n in enumerate(base.nodes) if not n.is_head and n.state != "DEAD")
    new = _start_actor(base, index)
    monitor.publish(new)
    assert monitor.seq == 2 and calls == [2]
    assert deltas_a[-1][0] == "delta" and deltas_a[-1][1] is deltas_b[-1][1]
    delta = ClusterDeltaMessage.model_validate_json(deltas_a[-1][1])
    assert delta.seq == 2
    assert apply_delta(base, delta).model_dump() == new.model_dump()
    # Plain subscribers still get whole snapshots, now with their seq.
    kind, message = plain[-1]
    assert kind == "snapshot"
    assert json.loads(message)["seq"] == 2
    assert ClusterSnapshot.model_validate(json.loads(message)["data"]) == new
    assert monitor.snapshot_message() == message

    # The same picture again (a later timestamp): no change, no message, same seq.
    count = len(deltas_a)
    monitor.publish(new.model_copy(update={"timestamp_ms": new.timestamp_ms + 5}))
    assert monitor.seq == 2 and len(deltas_a) == count and calls == [2]
    assert monitor.deltas_sent == 1
    await monitor.stop()


async def test_monitor_sends_the_snapshot_when_a_delta_is_no_smaller(base):
    monitor = _monitor()
    got: list[tuple[str, str]] = []
    monitor.subscribe(lambda kind, message: got.append((kind, message)), deltas=True)
    monitor.publish(base)
    everything = _next(base)
    for node in everything.nodes:
        node.labels["rack"] = "r1"
    monitor.publish(everything)
    assert got[-1][0] == "snapshot" and json.loads(got[-1][1])["seq"] == 2
    assert monitor.delta_fallbacks == 2  # the first snapshot, and this one
    # No delta subscriber: no delta is computed at all.
    unsubscribe = monitor.subscribe(lambda kind, message: None)
    monitor._delta_listeners.clear()
    polled = monitor._prepare(_next(base))
    assert polled.delta_text is None
    unsubscribe()
    await monitor.stop()


def test_one_node_change_of_2000_is_under_5_kb() -> None:
    big = _fake(2000, 100_000)
    index = next(i for i, n in enumerate(big.nodes) if n.state == "IDLE")
    new = _start_actor(big, index)
    delta = _round_trip(big, new)
    size = len(delta.model_dump_json())
    assert size <= 5 * 1024, size
    assert len(new.model_dump_json()) > 100 * size
