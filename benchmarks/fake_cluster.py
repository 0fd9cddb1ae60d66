"""FakeClusterStatus: a generated 2,000-node, 100k-actor cluster, built from Ray's own schema.

This machine cannot host 2,000 Ray nodes, so the snapshot benchmark and its correctness tests run
on a *generated* fixture instead: a ``ray.autoscaler.v2.schema.ClusterStatus`` (what
``get_cluster_status()`` returns, the call behind ``ray status``) plus the matching reply of the
dashboard's ``/nodes?view=summary``. It is a fake, named as one; no real cluster was recorded.

Shape (with the defaults):

- 2,000 nodes in 5 pools labelled ``ray.io/node-group`` (KubeRay's label): one head, CPU nodes,
  and A100, H100 and L4 GPU nodes; a few of them recently failed (DEAD, no resources). On a Ray
  whose ``NodeInfo`` carries no labels (2.40 does not), each live node's pool is named by a
  ``pool:<name>`` custom resource instead, as clusters on that Ray are started;
- 100,000 actors placed on the live worker nodes, each holding its pool's actor shape, so every
  node's used resources are the sum of its actors' and never exceed its totals;
- pending demands that fit some node's totals (they wait for free resources), and infeasible
  ones that fit no node at all (too many GPUs, an accelerator the cluster lacks, a missing pool);
- a node summary whose ``raylet.coreWorkersStats`` lists one worker entry per actor (Ray 2.60's
  summary view keeps ``coreWorkersStats`` and drops ``workers``), with per-node CPU %, memory and
  per-GPU utilisation.

Everything is drawn from ``random.Random(seed)``: the same arguments give the same cluster.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any

from ray.autoscaler.v2.schema import (
    ClusterStatus,
    NodeInfo,
    NodeUsage,
    PlacementGroupResourceDemand,
    RayTaskActorDemand,
    ResourceDemandSummary,
    ResourceRequestByCount,
    ResourceUsage,
    Stats,
)

GIB = 1024**3
POOL_LABEL = "ray.io/node-group"
HEAD_POOL = "headgroup"
#: Whether this Ray's ``NodeInfo`` carries node labels; without them a pool is a custom resource.
NODE_LABELS = "labels" in {f.name for f in fields(NodeInfo)}


@dataclass(frozen=True)
class PoolSpec:
    """One node group of the fake cluster.

    Attributes:
        name: The ``ray.io/node-group`` label value.
        share: Fraction of the worker nodes in this pool (the head pool has exactly one node).
        instance_type: The cloud instance type (``NodeInfo.instance_type_name``).
        resources: Logical resources of one node.
        actor_shapes: ``(bundle, max_per_node)`` of the actors this pool's nodes host.
        gpu_name: What ``nvidia-smi`` calls the GPU, if the nodes have GPUs.
        gpu_memory_mib: Memory of one GPU in MiB.
    """

    name: str
    share: float
    instance_type: str
    resources: dict[str, float]
    actor_shapes: tuple[tuple[dict[str, float], int], ...] = ()
    gpu_name: str = ""
    gpu_memory_mib: int = 0


POOLS: tuple[PoolSpec, ...] = (
    PoolSpec(
        HEAD_POOL,
        0.0,
        "m6i.4xlarge",
        {"CPU": 16.0, "memory": 48.0 * GIB, "object_store_memory": 16.0 * GIB},
    ),
    PoolSpec(
        "cpu",
        0.60,
        "m6i.16xlarge",
        {"CPU": 64.0, "memory": 192.0 * GIB, "object_store_memory": 64.0 * GIB},
        actor_shapes=(({"CPU": 0.5, "memory": 1.0 * GIB}, 128),),
    ),
    PoolSpec(
        "gpu-a100",
        0.20,
        "p4d.24xlarge",
        {
            "CPU": 96.0,
            "GPU": 8.0,
            "memory": 900.0 * GIB,
            "object_store_memory": 200.0 * GIB,
            "accelerator_type:A100": 1.0,
        },
        actor_shapes=(({"CPU": 4.0, "GPU": 1.0}, 8), ({"CPU": 1.0}, 64)),
        gpu_name="NVIDIA A100-SXM4-80GB",
        gpu_memory_mib=81920,
    ),
    PoolSpec(
        "gpu-h100",
        0.125,
        "p5.48xlarge",
        {
            "CPU": 192.0,
            "GPU": 8.0,
            "memory": 1800.0 * GIB,
            "object_store_memory": 200.0 * GIB,
            "accelerator_type:H100": 1.0,
        },
        actor_shapes=(({"CPU": 8.0, "GPU": 1.0}, 8), ({"CPU": 1.0}, 128)),
        gpu_name="NVIDIA H100 80GB HBM3",
        gpu_memory_mib=81559,
    ),
    PoolSpec(
        "gpu-l4",
        0.075,
        "g6.12xlarge",
        {
            "CPU": 48.0,
            "GPU": 4.0,
            "memory": 180.0 * GIB,
            "object_store_memory": 50.0 * GIB,
            "accelerator_type:L4": 1.0,
        },
        actor_shapes=(({"CPU": 4.0, "GPU": 1.0}, 4), ({"CPU": 1.0}, 32)),
        gpu_name="NVIDIA L4",
        gpu_memory_mib=23034,
    ),
)

#: ``(kind, bundle, count, placement strategy)`` of the demands Ray would report as waiting.
#: Each bundle fits the totals of some live node (``kind`` is ``task_actor`` or
#: ``placement_group``).
FEASIBLE_DEMANDS: tuple[tuple[str, dict[str, float], int, str | None], ...] = (
    ("task_actor", {"CPU": 0.5, "memory": 1.0 * GIB}, 1500, None),
    ("task_actor", {"CPU": 1.0}, 420, None),
    ("task_actor", {"CPU": 4.0, "GPU": 1.0}, 37, None),
    ("task_actor", {"CPU": 8.0, "GPU": 1.0, "accelerator_type:H100": 0.001}, 12, None),
    ("task_actor", {"CPU": 2.0, "GPU": 0.5, "accelerator_type:L4": 0.001}, 9, None),
    ("task_actor", {"CPU": 32.0, "memory": 128.0 * GIB}, 3, None),
    ("placement_group", {"CPU": 64.0, "GPU": 8.0}, 4, "STRICT_SPREAD"),
    ("placement_group", {"CPU": 4.0, "GPU": 1.0}, 16, "PACK"),
)

#: Demands no node of the fake cluster could ever fit.
INFEASIBLE_DEMANDS: tuple[tuple[str, dict[str, float], int, str | None], ...] = (
    ("task_actor", {"CPU": 8.0, "GPU": 16.0}, 2, None),
    ("task_actor", {"CPU": 256.0}, 1, None),
    ("task_actor", {"CPU": 1.0, "TPU": 4.0, "accelerator_type:TPU-V4": 0.001}, 4, None),
    ("task_actor", {"CPU": 1.0, "GPU": 1.0, "pool:gpu-b200": 1.0}, 5, None),
    ("task_actor", {"GPU": 1.0, "accelerator_type:A100": 0.001, "memory": 1000.0 * GIB}, 1, None),
    ("placement_group", {"CPU": 200.0, "GPU": 8.0}, 2, "STRICT_PACK"),
)


@dataclass
class FakeClusterStatus:
    """A generated cluster: Ray's status object, the dashboard's node summary, and the truth.

    Attributes:
        status: ``ray.autoscaler.v2.schema.ClusterStatus`` as ``get_cluster_status()`` returns it.
        summary_reply: The JSON body of the dashboard's ``/nodes?view=summary`` for these nodes.
        pool_sizes: Live (not DEAD) nodes per pool, as generated.
        num_dead: Nodes in ``failed_nodes``.
        num_actors: Actors placed (one ``coreWorkersStats`` entry each).
        actors_per_node: Actors placed per node id.
        feasible_bundles: Demand bundles generated to fit some node's totals.
        infeasible_bundles: Demand bundles generated to fit no node.
    """

    status: ClusterStatus
    summary_reply: dict[str, Any]
    pool_sizes: dict[str, int]
    num_dead: int
    num_actors: int
    actors_per_node: dict[str, int] = field(default_factory=dict)
    feasible_bundles: list[dict[str, float]] = field(default_factory=list)
    infeasible_bundles: list[dict[str, float]] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        """All nodes, live and DEAD."""
        return sum(self.pool_sizes.values()) + self.num_dead


_MASK_224 = (1 << 224) - 1
_MASK_128 = (1 << 128) - 1


def _hex(rng: random.Random, nbytes: int) -> str:
    return f"{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def _pool_counts(num_nodes: int, num_dead: int) -> list[int]:
    """Nodes per pool (head pool first, exactly 1), summing to ``num_nodes``."""
    workers = num_nodes - 1
    counts = [1] + [int(workers * spec.share) for spec in POOLS[1:]]
    counts[1] += num_nodes - sum(counts)  # rounding remainder goes to the CPU pool
    if any(c <= 0 for c in counts[1:]) or num_dead >= workers:
        raise ValueError(f"{num_nodes} nodes with {num_dead} dead are too few for the pools")
    return counts


def _worker_entry(
    rng: random.Random, ip: str, node_id: str, bundle: dict[str, float], job_hex: str
) -> dict[str, Any]:
    """One ``coreWorkersStats`` entry: the core worker of one actor, camelCased as Ray sends it."""
    bits = rng.getrandbits(512)  # one draw, sliced: 100k entries must generate in about a second
    return {
        "workerId": f"{bits & _MASK_224:056x}",
        "actorId": f"{(bits >> 224) & _MASK_128:032x}",
        "jobId": job_hex,
        "pid": 1000 + (bits >> 352) % 4_000_000,
        "ipAddress": ip,
        "port": 10002 + (bits >> 376) % 9998,
        "workerType": "WORKER",
        "language": "PYTHON",
        "actorTitle": "TrainWorker" if "GPU" in bundle else "DataWorker",
        "actorReprName": "",
        "usedResources": {
            name: {"resourceSlots": [{"allocation": v}]} for name, v in bundle.items()
        },
        "numPendingTasks": (bits >> 390) % 4,
        "taskQueueLength": 0,
        "numExecutedTasks": (bits >> 392) % 5000,
        "numRunningTasks": (bits >> 405) % 2,
        "numObjectRefsInScope": (bits >> 406) % 200,
        "numOwnedObjects": (bits >> 414) % 50,
        "numLocalObjects": (bits >> 420) % 20,
        "numInPlasma": (bits >> 425) % 20,
        "usedObjectStoreMemory": ((bits >> 430) % 512) * 1024 * 1024,
        "webuiDisplay": {},
        "nodeId": node_id,
    }


def make_fake_cluster_status(
    num_nodes: int = 2000,
    num_actors: int = 100_000,
    seed: int = 0,
    num_dead: int = 8,
    idle_fraction: float = 0.05,
) -> FakeClusterStatus:
    """Generate a large cluster shaped like Ray's own status and node-summary replies.

    Args:
        num_nodes: All nodes, the head and ``num_dead`` DEAD ones included.
        num_actors: Actors to place on live worker nodes (one worker entry each).
        seed: Seed of the generator; the same arguments give the same cluster.
        num_dead: Worker nodes reported in ``failed_nodes`` (no resources, no actors).
        idle_fraction: Share of live worker nodes left without actors (reported IDLE).

    Returns:
        The fake cluster and what was generated (pool sizes, actors per node, demands).

    Raises:
        ValueError: The actors do not fit the nodes' resources, or there are too few nodes.
    """
    rng = random.Random(seed)
    counts = _pool_counts(num_nodes, num_dead)
    job_hexes = [f"{j:08x}" for j in range(1, 40)]

    # -- nodes ------------------------------------------------------------------------------
    nodes: list[dict[str, Any]] = []
    for spec, count in zip(POOLS, counts, strict=True):
        for index in range(count):
            serial = len(nodes) + 1
            nodes.append(
                {
                    "spec": spec,
                    "node_id": _hex(rng, 28),
                    "ip": f"10.{(serial >> 16) & 255}.{(serial >> 8) & 255}.{serial & 255}",
                    "hostname": f"{spec.name}-{index:04d}",
                    "is_head": spec.name == HEAD_POOL,
                    "used": {},
                    "actors": [],
                }
            )
    # Dead nodes: taken from the worker pools, spread over them.
    worker_nodes = [n for n in nodes if not n["is_head"]]
    for node in rng.sample(worker_nodes, num_dead):
        node["dead"] = True
    live_workers = [n for n in worker_nodes if not n.get("dead")]
    idle = {id(n) for n in rng.sample(live_workers, int(len(live_workers) * idle_fraction))}

    # -- actors: sample slots, so every node stays within its resources ---------------------
    slots: list[tuple[int, int]] = []
    for node_index, node in enumerate(nodes):
        if node["is_head"] or node.get("dead") or id(node) in idle:
            continue
        for shape_index, (_, per_node) in enumerate(node["spec"].actor_shapes):
            slots.extend([(node_index, shape_index)] * per_node)
    if num_actors > len(slots):
        raise ValueError(f"{num_actors} actors do not fit {len(slots)} actor slots")
    for node_index, shape_index in rng.sample(slots, num_actors):
        node = nodes[node_index]
        bundle = node["spec"].actor_shapes[shape_index][0]
        node["actors"].append(bundle)
        for name, amount in bundle.items():
            node["used"][name] = node["used"].get(name, 0.0) + amount

    # -- ClusterStatus ----------------------------------------------------------------------
    active: list[NodeInfo] = []
    idle_nodes: list[NodeInfo] = []
    failed: list[NodeInfo] = []
    cluster_total: dict[str, float] = {}
    cluster_used: dict[str, float] = {}
    pool_sizes: dict[str, int] = {}
    for node in nodes:
        spec: PoolSpec = node["spec"]
        labels = {
            "ray.io/node-id": node["node_id"],
            POOL_LABEL: spec.name,
            "ray.io/availability-zone": rng.choice(("us-west-2a", "us-west-2b", "us-west-2c")),
            "ray.io/market-type": "spot" if rng.random() < 0.3 else "on-demand",
        }
        if spec.gpu_name:
            labels["ray.io/accelerator-type"] = spec.gpu_name.split()[1].split("-")[0]
        common = {
            "instance_type_name": spec.instance_type,
            "ray_node_type_name": spec.name,
            "instance_id": f"i-{_hex(rng, 8)}",
            "ip_address": node["ip"],
            "node_id": node["node_id"],
        }
        if NODE_LABELS:
            common["labels"] = labels
        if node.get("dead"):
            failed.append(
                NodeInfo(
                    **common,
                    node_status="DEAD",
                    details="Raylet health check failed: the node was preempted (spot).",
                )
            )
            continue
        pool_sizes[spec.name] = pool_sizes.get(spec.name, 0) + 1
        resources = dict(spec.resources)
        resources[f"node:{node['ip']}"] = 1.0
        if not NODE_LABELS:
            resources[f"pool:{spec.name}"] = 1.0
        if node["is_head"]:
            resources["node:__internal_head__"] = 1.0
        usage = [
            ResourceUsage(name, total, node["used"].get(name, 0.0))
            for name, total in resources.items()
        ]
        for item in usage:
            cluster_total[item.resource_name] = cluster_total.get(item.resource_name, 0.0) + (
                item.total
            )
            cluster_used[item.resource_name] = cluster_used.get(item.resource_name, 0.0) + (
                item.used
            )
        busy = bool(node["actors"])
        info = NodeInfo(
            **common,
            node_status="RUNNING" if busy else "IDLE",
            resource_usage=NodeUsage(
                usage=usage, idle_time_ms=0 if busy else rng.randint(1_000, 3_600_000)
            ),
            node_activity=(
                [f"Resource: {name} currently in use." for name in sorted(node["used"])]
                if busy
                else []
            ),
        )
        (active if busy else idle_nodes).append(info)

    # -- demands ----------------------------------------------------------------------------
    task_actor: list[RayTaskActorDemand] = []
    placement: list[PlacementGroupResourceDemand] = []
    for kind, bundle, count, strategy in FEASIBLE_DEMANDS + INFEASIBLE_DEMANDS:
        by_count = [ResourceRequestByCount(bundle=dict(bundle), count=count)]
        if kind == "placement_group":
            placement.append(
                PlacementGroupResourceDemand(
                    bundles_by_count=by_count,
                    details=f"{_hex(rng, 18)}:{strategy}|PENDING",
                    pg_id=_hex(rng, 18),
                    strategy=strategy,
                    state="PENDING",
                )
            )
        else:
            task_actor.append(RayTaskActorDemand(bundles_by_count=by_count))

    status = ClusterStatus(
        active_nodes=active,
        idle_nodes=idle_nodes,
        failed_nodes=failed,
        cluster_resource_usage=[
            ResourceUsage(name, total, cluster_used[name]) for name, total in cluster_total.items()
        ],
        resource_demands=ResourceDemandSummary(
            placement_group_demand=placement, ray_task_actor_demand=task_actor
        ),
        stats=Stats(gcs_request_time_s=0.05, request_ts_s=1_700_000_000),
    )

    # -- the dashboard's /nodes?view=summary ------------------------------------------------
    summary: list[dict[str, Any]] = []
    actors_per_node: dict[str, int] = {}
    for node in nodes:
        if node.get("dead"):
            continue
        spec = node["spec"]
        actors_per_node[node["node_id"]] = len(node["actors"])
        mem_total = int(spec.resources["memory"] / 0.7)  # Ray gives 70 % of RAM to "memory"
        mem_used = int(mem_total * rng.uniform(0.05, 0.9))
        num_gpus = int(spec.resources.get("GPU", 0))
        gpu_used = int(node["used"].get("GPU", 0))
        job_hex = rng.choice(job_hexes)
        workers = [
            _worker_entry(rng, node["ip"], node["node_id"], b, job_hex) for b in node["actors"]
        ]
        summary.append(
            {
                "now": 1_700_000_000.0,
                "hostname": node["hostname"],
                "ip": node["ip"],
                "cpu": round(rng.uniform(1.0, 99.0), 1),
                "cpus": [int(spec.resources["CPU"]), int(spec.resources["CPU"])],
                "mem": [
                    mem_total,
                    mem_total - mem_used,
                    round(100 * mem_used / mem_total, 1),
                    mem_used,
                ],
                "shm": rng.randint(0, 8 * GIB),
                "loadAvg": [[1.0, 1.0, 1.0], [0.1, 0.1, 0.1]],
                "disk": {
                    "/": {"total": 500 * GIB, "used": 100 * GIB, "free": 400 * GIB, "percent": 20.0}
                },
                "gpus": [
                    {
                        "index": g,
                        "name": spec.gpu_name,
                        "uuid": f"GPU-{_hex(rng, 16)}",
                        "utilizationGpu": rng.randint(60, 100) if g < gpu_used else 0,
                        "memoryUsed": rng.randint(1000, spec.gpu_memory_mib) if g < gpu_used else 0,
                        "memoryTotal": spec.gpu_memory_mib,
                        "processesPids": [],
                    }
                    for g in range(num_gpus)
                ],
                "tpus": [],
                "raylet": {
                    "nodeId": node["node_id"],
                    "nodeManagerAddress": node["ip"],
                    "nodeName": node["ip"],
                    "isHeadNode": node["is_head"],
                    "state": "ALIVE",
                    "objectStoreUsedMemory": rng.randint(
                        0, int(spec.resources["object_store_memory"])
                    ),
                    "objectStoreAvailableMemory": int(spec.resources["object_store_memory"]),
                    "labels": {"ray.io/node-group": spec.name},
                    "coreWorkersStats": workers,
                },
            }
        )
    summary_reply = {
        "result": True,
        "msg": "Node summary fetched.",
        "data": {"summary": summary, "nodeLogicalResources": {}},
    }
    return FakeClusterStatus(
        status=status,
        summary_reply=summary_reply,
        pool_sizes=pool_sizes,
        num_dead=len(failed),
        num_actors=num_actors,
        actors_per_node=actors_per_node,
        feasible_bundles=[dict(b) for _, b, _, _ in FEASIBLE_DEMANDS],
        infeasible_bundles=[dict(b) for _, b, _, _ in INFEASIBLE_DEMANDS],
    )
