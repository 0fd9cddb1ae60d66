"""Wire models: dataclasses whose ``to_dict()`` is the snake_case JSON of the REST contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: Resources every snapshot reports, even when the cluster has none of them (GPU on a laptop).
STANDARD_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")


def iso_from_ms(timestamp_ms: int) -> str:
    """Format epoch milliseconds as an ISO-8601 UTC string with a ``Z`` suffix."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class GpuUsage:
    """Utilisation of one GPU, as the node's Ray reporter agent measured it."""

    index: int
    name: str
    utilization_percent: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "index": self.index,
            "name": self.name,
            "utilization_percent": self.utilization_percent,
            "memory_used_bytes": self.memory_used_bytes,
            "memory_total_bytes": self.memory_total_bytes,
        }


@dataclass
class NodeUsage:
    """Physical usage of a node (what the dashboard's node page shows), where Ray reports it."""

    cpu_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    object_store_used_bytes: int | None = None
    num_workers: int | None = None
    gpus: list[GpuUsage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "cpu_percent": self.cpu_percent,
            "memory_used_bytes": self.memory_used_bytes,
            "memory_total_bytes": self.memory_total_bytes,
            "object_store_used_bytes": self.object_store_used_bytes,
            "num_workers": self.num_workers,
            "gpus": [gpu.to_dict() for gpu in self.gpus],
        }


@dataclass
class NodeRecord:
    """One Ray node: identity, state, pool, labels, logical resources and physical usage.

    ``state`` uses the words of ``ray status``: ``ACTIVE`` (running work), ``IDLE``,
    ``PENDING`` (being launched) or ``DEAD`` (a recent failure).
    """

    node_id: str
    node_name: str
    node_ip: str
    is_head: bool
    state: str
    pool: str
    labels: dict[str, str]
    resources_total: dict[str, float]
    resources_available: dict[str, float]
    idle_ms: int | None = None
    usage: NodeUsage | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "node_id": self.node_id,
            "node_name": self.node_name,
            "node_ip": self.node_ip,
            "is_head": self.is_head,
            "state": self.state,
            "pool": self.pool,
            "labels": self.labels,
            "resources_total": self.resources_total,
            "resources_available": self.resources_available,
            "idle_ms": self.idle_ms,
            "usage": self.usage.to_dict() if self.usage is not None else None,
        }


@dataclass
class ResourceDemand:
    """Resource shapes that tasks, actors or placement groups wait for.

    Attributes:
        bundle: One resource request, for example ``{"GPU": 1, "CPU": 4}``.
        count: How many requests of that shape are waiting.
        kind: ``task_actor``, ``placement_group`` or ``cluster_constraint``.
        infeasible: True when no live node of the cluster could ever fit the bundle.
        pool: The pool the bundle is pinned to (through a pool resource), if any.
        reason: Why it waits, in words a person can act on.
    """

    bundle: dict[str, float]
    count: int
    kind: str
    infeasible: bool
    pool: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "bundle": self.bundle,
            "count": self.count,
            "kind": self.kind,
            "infeasible": self.infeasible,
            "pool": self.pool,
            "reason": self.reason,
        }


@dataclass
class PoolSummary:
    """A set of nodes sharing a pool label or pool resource, with their summed resources."""

    name: str
    num_nodes: int
    node_ids: list[str]
    totals: dict[str, float]
    available: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "name": self.name,
            "num_nodes": self.num_nodes,
            "node_ids": self.node_ids,
            "totals": self.totals,
            "available": self.available,
        }


@dataclass
class ClusterSnapshot:
    """Everything ``GET cluster`` returns: one consistent picture of the cluster."""

    timestamp_ms: int
    totals: dict[str, float]
    available: dict[str, float]
    nodes: list[NodeRecord]
    pending_demands: list[ResourceDemand]
    infeasible_demands: list[ResourceDemand]
    pools: list[PoolSummary]

    @property
    def timestamp(self) -> str:
        """The snapshot time as ISO-8601 UTC."""
        return iso_from_ms(self.timestamp_ms)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "timestamp": self.timestamp,
            "timestamp_ms": self.timestamp_ms,
            "totals": self.totals,
            "available": self.available,
            "nodes": [node.to_dict() for node in self.nodes],
            "pending_demands": [d.to_dict() for d in self.pending_demands],
            "infeasible_demands": [d.to_dict() for d in self.infeasible_demands],
            "pools": [pool.to_dict() for pool in self.pools],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterSnapshot:
        """Rebuild a snapshot from its JSON form (what the REST API and websocket send)."""
        nodes = []
        for raw in data.get("nodes", []):
            usage_raw = raw.get("usage")
            usage = None
            if usage_raw is not None:
                usage = NodeUsage(
                    cpu_percent=usage_raw.get("cpu_percent"),
                    memory_used_bytes=usage_raw.get("memory_used_bytes"),
                    memory_total_bytes=usage_raw.get("memory_total_bytes"),
                    object_store_used_bytes=usage_raw.get("object_store_used_bytes"),
                    num_workers=usage_raw.get("num_workers"),
                    gpus=[GpuUsage(**gpu) for gpu in usage_raw.get("gpus", [])],
                )
            nodes.append(
                NodeRecord(
                    node_id=raw["node_id"],
                    node_name=raw.get("node_name", ""),
                    node_ip=raw.get("node_ip", ""),
                    is_head=bool(raw.get("is_head")),
                    state=raw.get("state", ""),
                    pool=raw.get("pool", ""),
                    labels=dict(raw.get("labels") or {}),
                    resources_total=dict(raw.get("resources_total") or {}),
                    resources_available=dict(raw.get("resources_available") or {}),
                    idle_ms=raw.get("idle_ms"),
                    usage=usage,
                )
            )
        return cls(
            timestamp_ms=int(data["timestamp_ms"]),
            totals=dict(data.get("totals") or {}),
            available=dict(data.get("available") or {}),
            nodes=nodes,
            pending_demands=[ResourceDemand(**d) for d in data.get("pending_demands", [])],
            infeasible_demands=[ResourceDemand(**d) for d in data.get("infeasible_demands", [])],
            pools=[PoolSummary(**p) for p in data.get("pools", [])],
        )

    def history_point(self) -> dict[str, Any]:
        """The compact entry the history ring buffer keeps for this snapshot."""
        return {
            "timestamp_ms": self.timestamp_ms,
            "totals": self.totals,
            "available": self.available,
            "num_nodes": sum(1 for n in self.nodes if n.state != "DEAD"),
        }
