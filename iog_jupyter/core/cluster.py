"""Cluster resources: one snapshot of nodes, pools, usage and demands, cheaper than `ray status`.

``get_cluster_snapshot()`` asks the GCS what ``ray status`` asks it (4-6 ms warm), optionally adds
per-node physical usage from the dashboard, and ``build_snapshot()`` turns both into the wire model.
``build_snapshot()`` is pure, so it is tested and benchmarked on recorded or generated data too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import _ray_compat
from .connection import RayConnection
from .errors import RayUnavailableError
from .wire import (
    STANDARD_RESOURCES,
    ClusterSnapshot,
    GpuUsage,
    NodeRecord,
    NodeUsage,
    PoolSummary,
    ResourceDemand,
)

log = logging.getLogger(__name__)

HEAD_RESOURCE = "node:__internal_head__"
DEFAULT_POOL = "default"


@dataclass(frozen=True)
class PoolConfig:
    """How nodes are grouped into pools.

    Attributes:
        label: Node label whose value names the node's pool (KubeRay sets ``ray.io/node-group``).
        resource_prefix: Custom resources named ``<prefix><pool>`` also name a pool, for clusters
            started with ``--resources='{"pool:train": 1}'``.
    """

    label: str = "ray.io/node-group"
    resource_prefix: str = "pool:"


def _is_implicit(resource: str) -> bool:
    """Ray's per-node bookkeeping resources (``node:<ip>``), hidden from every view."""
    return resource.startswith("node:")


def _with_standard(resources: dict[str, float]) -> dict[str, float]:
    for name in STANDARD_RESOURCES:
        resources.setdefault(name, 0.0)
    return resources


def _amounts(usage: Iterable[Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Totals and available amounts of Ray's ``ResourceUsage`` items, bookkeeping left out."""
    total: dict[str, float] = {}
    available: dict[str, float] = {}
    for item in usage:
        if not _is_implicit(item.resource_name):
            total[item.resource_name] = float(item.total)
            available[item.resource_name] = float(item.total) - float(item.used)
    return total, available


def _pool_of(labels: Mapping[str, str], totals: Mapping[str, float], config: PoolConfig) -> str:
    if config.label and labels.get(config.label):
        return labels[config.label]
    prefix = config.resource_prefix
    named = [
        n[len(prefix) :] for n in sorted(totals) if prefix and n.startswith(prefix) and n != prefix
    ]
    # A node carrying several pools' resources (one head standing in for a whole pipeline) is
    # in all of them: "preprocess+serve+train".
    return "+".join(named) or DEFAULT_POOL


def _usage_from_summary(entry: Mapping[str, Any]) -> NodeUsage:
    """Convert one entry of the dashboard's ``/nodes?view=summary`` into :class:`NodeUsage`."""
    mem = entry.get("mem") or []
    raylet = entry.get("raylet") or {}
    gpus = []
    for raw in entry.get("gpus") or []:
        mem_used = raw.get("memoryUsed", raw.get("memory_used"))
        mem_total = raw.get("memoryTotal", raw.get("memory_total"))
        util = raw.get("utilizationGpu", raw.get("utilization_gpu"))
        gpus.append(
            GpuUsage(
                index=int(raw.get("index", len(gpus))),
                name=str(raw.get("name", "")),
                utilization_percent=float(util) if util is not None else None,
                # Ray's reporter gives GPU memory in MiB.
                memory_used_bytes=int(mem_used * 1024 * 1024) if mem_used is not None else None,
                memory_total_bytes=int(mem_total * 1024 * 1024) if mem_total is not None else None,
            )
        )
    workers = entry.get("workers")
    if workers is None:
        workers = raylet.get("coreWorkersStats")
    store_used = raylet.get("objectStoreUsedMemory")
    cpu = entry.get("cpu")
    return NodeUsage(
        cpu_percent=float(cpu) if cpu is not None else None,
        memory_total_bytes=int(mem[0]) if len(mem) > 0 else None,
        memory_used_bytes=int(mem[3]) if len(mem) > 3 else None,
        object_store_used_bytes=int(store_used) if store_used is not None else None,
        num_workers=len(workers) if workers is not None else None,
        gpus=gpus,
    )


def usage_by_node_id(summary_reply: Mapping[str, Any]) -> dict[str, NodeUsage]:
    """Index the dashboard's node summary by node id."""
    result: dict[str, NodeUsage] = {}
    for entry in (summary_reply.get("data") or {}).get("summary") or []:
        node_id = (entry.get("raylet") or {}).get("nodeId")
        if node_id:
            result[node_id] = _usage_from_summary(entry)
    return result


def _fits(bundle: Mapping[str, float], totals: Mapping[str, float]) -> bool:
    return all(totals.get(name, 0.0) >= amount for name, amount in bundle.items())


def _demands(
    status: Any, nodes: list[NodeRecord], config: PoolConfig
) -> tuple[list[ResourceDemand], list[ResourceDemand]]:
    """Split Ray's resource demands into waiting and infeasible ones, with a reason for each."""
    # Nodes of one pool mostly share a shape: test each distinct shape once, not every node
    # (a 2,000-node cluster has a handful of shapes; an infeasible bundle scanned them all).
    alive_totals = [
        dict(shape)
        for shape in {frozenset(n.resources_total.items()) for n in nodes if n.state != "DEAD"}
    ]
    summary = status.resource_demands
    groups: list[tuple[str, Iterable[Any]]] = [
        ("task_actor", summary.ray_task_actor_demand),
        ("placement_group", summary.placement_group_demand),
        ("cluster_constraint", summary.cluster_constraint_demand),
    ]
    pending: list[ResourceDemand] = []
    infeasible: list[ResourceDemand] = []
    for kind, demands in groups:
        for demand in demands:
            for by_count in demand.bundles_by_count:
                bundle = {k: float(v) for k, v in by_count.bundle.items() if not _is_implicit(k)}
                prefix = config.resource_prefix
                pools = (k[len(prefix) :] for k in bundle if prefix and k.startswith(prefix))
                pool = next(pools, None)
                shape = ", ".join(f"{v:g} {k}" for k, v in sorted(bundle.items()))
                where = f"pool {pool!r}" if pool else "the cluster"
                fits = any(_fits(bundle, totals) for totals in alive_totals)
                reason = (
                    f"waiting: no node of {where} has {shape} free right now"
                    if fits
                    else f"infeasible: no node of {where} has {shape} in total"
                )
                (pending if fits else infeasible).append(
                    ResourceDemand(
                        bundle=bundle,
                        count=int(by_count.count),
                        kind=kind,
                        infeasible=not fits,
                        pool=pool,
                        reason=reason,
                    )
                )
    return pending, infeasible


def build_snapshot(
    status: Any,
    usage: Mapping[str, NodeUsage] | None = None,
    pool_config: PoolConfig | None = None,
    timestamp_ms: int | None = None,
) -> ClusterSnapshot:
    """Turn Ray's cluster status (and optional physical usage) into a :class:`ClusterSnapshot`.

    ``status`` is a ``ray.autoscaler.v2.schema.ClusterStatus`` or any object shaped like it;
    ``usage`` is keyed by node id (:func:`usage_by_node_id`). Nodes come head first, then by pool
    and name.
    """
    config = pool_config or PoolConfig()
    usage = usage or {}
    nodes: list[NodeRecord] = []
    buckets = (
        ("ACTIVE", status.active_nodes),
        ("IDLE", status.idle_nodes),
        ("PENDING", status.pending_nodes),
        ("DEAD", status.failed_nodes),
    )
    for state, infos in buckets:
        for info in infos:
            usage_items = info.resource_usage.usage if info.resource_usage is not None else []
            idle_ms = info.resource_usage.idle_time_ms if info.resource_usage is not None else None
            is_head = any(item.resource_name == HEAD_RESOURCE for item in usage_items)
            total, available = _amounts(usage_items)
            labels = _ray_compat.node_labels(info)
            node_id = info.node_id or info.instance_id or ""
            nodes.append(
                NodeRecord(
                    node_id=node_id,
                    node_name=info.ip_address or node_id[:12],
                    node_ip=info.ip_address or "",
                    is_head=is_head,
                    state=state,
                    pool=_pool_of(labels, total, config),
                    labels=labels,
                    resources_total=_with_standard(total),
                    resources_available=_with_standard(available),
                    idle_ms=idle_ms,
                    usage=usage.get(node_id),
                )
            )
    nodes.sort(key=lambda n: (not n.is_head, n.state == "DEAD", n.pool, n.node_name, n.node_id))

    totals, available_all = _amounts(status.cluster_resource_usage)
    pools: dict[str, PoolSummary] = {}
    for node in nodes:
        if node.state == "DEAD":
            continue
        pool = pools.get(node.pool)
        if pool is None:
            pool = pools[node.pool] = PoolSummary(
                name=node.pool, num_nodes=0, node_ids=[], totals={}, available={}
            )
        pool.num_nodes += 1
        pool.node_ids.append(node.node_id)
        for name, value in node.resources_total.items():
            pool.totals[name] = pool.totals.get(name, 0.0) + value
        for name, value in node.resources_available.items():
            pool.available[name] = pool.available.get(name, 0.0) + value

    pending, infeasible = _demands(status, nodes, config)
    return ClusterSnapshot(
        timestamp_ms=timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        totals=_with_standard(totals),
        available=_with_standard(available_all),
        nodes=nodes,
        pending_demands=pending,
        infeasible_demands=infeasible,
        pools=sorted(pools.values(), key=lambda p: p.name),
    )


def fetch_cluster_status(conn: RayConnection) -> Any:
    """Ask the GCS for the cluster status (a :meth:`RayConnection.gcs_call`).

    Raises:
        RayUnavailableError: The GCS is down, refused the token, or did not answer within
            ``request_timeout_s``.
    """
    return conn.gcs_call(_ray_compat.get_cluster_status, conn.request_timeout_s)


def fetch_node_usage(conn: RayConnection) -> dict[str, NodeUsage]:
    """Per-node CPU %, memory, object store and GPU usage from the dashboard's node summary.

    Raises:
        RayUnavailableError: The dashboard is off or unreachable.
    """
    return usage_by_node_id(conn.dashboard_get("/nodes?view=summary"))


def get_cluster_snapshot(
    conn: RayConnection,
    pool_config: PoolConfig | None = None,
    include_usage: bool = True,
) -> ClusterSnapshot:
    """Take one snapshot of the cluster.

    ``include_usage`` also asks the dashboard for physical per-node usage; skipped quietly (the
    ``usage`` fields stay null) when the dashboard is off.

    Raises:
        RayUnavailableError: The GCS could not be reached.

    Example:
        >>> snapshot = get_cluster_snapshot(RayConnection())  # doctest: +SKIP
        >>> snapshot.totals["CPU"]  # doctest: +SKIP
        8.0
    """
    status = fetch_cluster_status(conn)
    usage: dict[str, NodeUsage] = {}
    if include_usage:
        try:
            usage = fetch_node_usage(conn)
        except RayUnavailableError as err:
            log.debug("Per-node usage unavailable: %s", err.message)
    return build_snapshot(status, usage, pool_config)
