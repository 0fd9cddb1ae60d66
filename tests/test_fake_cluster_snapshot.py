"""build_snapshot() on FakeClusterStatus, the generated 2,000-node, 100k-actor cluster.

Correctness only: the speed of the same path is measured by benchmarks/cluster.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ray.autoscaler.v2.schema import ClusterStatus

from iog_jupyter.core.cluster import build_snapshot, usage_by_node_id
from iog_jupyter.core.wire import ClusterSnapshot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from fake_cluster import (  # noqa: E402
    HEAD_POOL,
    NODE_LABELS,
    POOL_LABEL,
    FakeClusterStatus,
    make_fake_cluster_status,
)

NUM_NODES = 2000
NUM_ACTORS = 100_000


@pytest.fixture(scope="module")
def fake() -> FakeClusterStatus:
    return make_fake_cluster_status(num_nodes=NUM_NODES, num_actors=NUM_ACTORS, seed=0)


@pytest.fixture(scope="module")
def snapshot(fake: FakeClusterStatus) -> ClusterSnapshot:
    return build_snapshot(fake.status, usage_by_node_id(fake.summary_reply), timestamp_ms=1)


def _fits(bundle: dict[str, float], totals: dict[str, float]) -> bool:
    return all(totals.get(name, 0.0) >= amount for name, amount in bundle.items())


def test_fake_is_built_from_rays_schema(fake: FakeClusterStatus) -> None:
    assert isinstance(fake.status, ClusterStatus)
    assert fake.num_nodes == NUM_NODES
    assert len(fake.summary_reply["data"]["summary"]) == NUM_NODES - fake.num_dead


def test_every_node_is_in_the_snapshot(fake: FakeClusterStatus, snapshot: ClusterSnapshot) -> None:
    assert len(snapshot.nodes) == NUM_NODES
    assert len({n.node_id for n in snapshot.nodes}) == NUM_NODES
    assert sum(n.state == "DEAD" for n in snapshot.nodes) == fake.num_dead > 0
    assert snapshot.nodes[0].is_head and snapshot.nodes[0].pool == HEAD_POOL
    assert sum(n.is_head for n in snapshot.nodes) == 1
    # Ray's implicit node:<ip> resources are hidden.
    assert not any(k.startswith("node:") for n in snapshot.nodes for k in n.resources_total)


def test_pools_match_the_generator(fake: FakeClusterStatus, snapshot: ClusterSnapshot) -> None:
    assert len(snapshot.pools) == len(fake.pool_sizes) == 5
    assert {p.name: p.num_nodes for p in snapshot.pools} == fake.pool_sizes
    for pool in snapshot.pools:
        members = [n for n in snapshot.nodes if n.pool == pool.name and n.state != "DEAD"]
        assert sorted(pool.node_ids) == sorted(n.node_id for n in members)
        if NODE_LABELS:
            assert all(n.labels[POOL_LABEL] == pool.name for n in members)
        else:  # a Ray without node labels: the pool is the node's custom resource
            assert all(not n.labels and n.resources_total[f"pool:{pool.name}"] for n in members)


def test_totals_equal_the_sum_over_nodes(snapshot: ClusterSnapshot) -> None:
    live = [n for n in snapshot.nodes if n.state != "DEAD"]
    assert set(snapshot.totals) >= {"CPU", "GPU", "memory", "object_store_memory"}
    for name, total in snapshot.totals.items():
        assert total == pytest.approx(sum(n.resources_total.get(name, 0.0) for n in live))
        assert snapshot.available[name] == pytest.approx(
            sum(n.resources_available.get(name, 0.0) for n in live)
        )
        assert total == pytest.approx(sum(p.totals.get(name, 0.0) for p in snapshot.pools))
    assert snapshot.totals["GPU"] > snapshot.available["GPU"] > 0
    for node in live:
        for name, total in node.resources_total.items():
            assert 0.0 <= node.resources_available[name] <= total


def test_infeasible_demands_are_exactly_those_that_fit_no_node(
    fake: FakeClusterStatus, snapshot: ClusterSnapshot
) -> None:
    live_totals = [n.resources_total for n in snapshot.nodes if n.state != "DEAD"]
    for demand in snapshot.infeasible_demands:
        assert demand.infeasible and demand.reason.startswith("infeasible")
        assert not any(_fits(demand.bundle, totals) for totals in live_totals)
    for demand in snapshot.pending_demands:
        assert not demand.infeasible and demand.reason.startswith("waiting")
        assert any(_fits(demand.bundle, totals) for totals in live_totals)
    assert [d.bundle for d in snapshot.infeasible_demands] == fake.infeasible_bundles
    assert [d.bundle for d in snapshot.pending_demands] == fake.feasible_bundles
    pinned = [d for d in snapshot.infeasible_demands if d.pool is not None]
    assert [d.pool for d in pinned] == ["gpu-b200"]
    assert {d.kind for d in snapshot.pending_demands} == {"task_actor", "placement_group"}


def test_workers_of_all_actors_are_counted(
    fake: FakeClusterStatus, snapshot: ClusterSnapshot
) -> None:
    live = [n for n in snapshot.nodes if n.state != "DEAD"]
    assert all(n.usage is not None for n in live)
    assert sum(n.usage.num_workers for n in live) == NUM_ACTORS
    assert {n.node_id: n.usage.num_workers for n in live} == fake.actors_per_node
    assert all(n.usage is None for n in snapshot.nodes if n.state == "DEAD")


def test_gpu_usage_matches_logical_gpus(snapshot: ClusterSnapshot) -> None:
    live = [n for n in snapshot.nodes if n.state != "DEAD"]
    assert any(n.resources_total["GPU"] > 0 for n in live)
    for node in live:
        assert len(node.usage.gpus) == int(node.resources_total["GPU"])
        busy = sum(g.utilization_percent > 0 for g in node.usage.gpus)
        used = node.resources_total["GPU"] - node.resources_available["GPU"]
        assert busy == int(used)


def test_snapshot_survives_its_json_form(snapshot: ClusterSnapshot) -> None:
    text = json.dumps(snapshot.model_dump(mode="json"), separators=(",", ":"))
    assert ClusterSnapshot.model_validate_json(text) == snapshot


def test_same_seed_same_cluster_other_seed_other_cluster() -> None:
    def small(seed: int) -> ClusterSnapshot:
        fake = make_fake_cluster_status(num_nodes=60, num_actors=2000, seed=seed, num_dead=2)
        return build_snapshot(fake.status, usage_by_node_id(fake.summary_reply), timestamp_ms=1)

    assert small(7) == small(7)
    assert small(7) != small(8)


def test_too_many_actors_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        make_fake_cluster_status(num_nodes=30, num_actors=100_000, num_dead=0)
