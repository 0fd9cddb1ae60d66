"""Cluster shapes: the snapshot behind ``GET cluster``, its history, ``GET status``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from .base import IsoTime, ResourceMap, WireModel, iso_field

#: Resources every snapshot reports, even when the cluster has none of them (GPU on a laptop).
STANDARD_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")


class GpuUsage(WireModel):
    """Utilisation of one GPU, as the node's Ray reporter agent measured it."""

    index: int
    name: str
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None


class NodeUsage(WireModel):
    """Physical usage of a node (what the dashboard's node page shows), where Ray reports it."""

    cpu_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    object_store_used_bytes: int | None = None
    num_workers: int | None = None
    gpus: list[GpuUsage] = Field(default_factory=list)


class NodeRecord(WireModel):
    """One Ray node: identity, state, pool, labels, logical resources and physical usage.

    ``state`` uses the words of ``ray status``: ``ACTIVE`` (running work), ``IDLE``,
    ``PENDING`` (being launched) or ``DEAD`` (a recent failure).
    """

    node_id: str
    node_name: str = ""
    node_ip: str = ""
    is_head: bool = False
    state: str = Field(description="ACTIVE, IDLE, PENDING or DEAD (the words of ray status).")
    pool: str
    labels: dict[str, str] = Field(default_factory=dict)
    resources_total: ResourceMap
    resources_available: ResourceMap
    idle_ms: int | None = None
    usage: NodeUsage | None = None


#: What waits behind each demand kind, in words (Ray's job drivers are tasks/actors to it).
DEMAND_WAITERS = {
    "task_actor": ("task, actor or job driver", "tasks, actors or job drivers"),
    "placement_group": ("placement group", "placement groups"),
    "cluster_constraint": ("requested minimum", "requested minimums"),
}


class ResourceDemand(WireModel):
    """Resource shapes that tasks, actors or placement groups wait for."""

    bundle: ResourceMap = Field(description='One resource request, e.g. {"GPU": 1, "CPU": 4}.')
    count: int = Field(description="How many requests of that shape are waiting.")
    kind: str = Field(description="task_actor, placement_group or cluster_constraint.")
    infeasible: bool = Field(description="No live node of the cluster could ever fit it.")
    pool: str | None = Field(None, description="The pool it is pinned to, if any.")
    reason: str = Field(description="Why it waits, in words a person can act on.")

    @computed_field
    def waiting(self) -> str:
        """Who waits, in words: ``2 tasks, actors or job drivers``."""
        one, many = DEMAND_WAITERS.get(self.kind, (self.kind, self.kind))
        return f"{self.count} {one if self.count == 1 else many}"


class PoolSummary(WireModel):
    """A set of nodes sharing a pool label or pool resource, with their summed resources."""

    name: str
    num_nodes: int
    node_ids: list[str]
    totals: ResourceMap
    available: ResourceMap


class HistoryPoint(WireModel):
    """One entry of the history ring buffer: totals and available at one poll."""

    timestamp_ms: int
    totals: ResourceMap
    available: ResourceMap
    num_nodes: int


class ClusterSnapshot(WireModel):
    """Everything ``GET cluster`` returns: one consistent picture of the cluster."""

    timestamp_ms: int
    totals: ResourceMap
    available: ResourceMap
    nodes: list[NodeRecord]
    pending_demands: list[ResourceDemand] = Field(default_factory=list)
    infeasible_demands: list[ResourceDemand] = Field(default_factory=list)
    pools: list[PoolSummary] = Field(default_factory=list)

    timestamp = iso_field("timestamp_ms", "The snapshot time as ISO-8601 UTC.", zero_is_null=False)

    def history_point(self) -> HistoryPoint:
        """The compact entry the history ring buffer keeps for this snapshot."""
        return HistoryPoint(
            timestamp_ms=self.timestamp_ms,
            totals=self.totals,
            available=self.available,
            num_nodes=sum(1 for n in self.nodes if n.state != "DEAD"),
        )


class ClusterHistory(WireModel):
    """``GET cluster/history``: points oldest first, from a bounded ring buffer."""

    refresh_interval_s: float
    history_length: int
    points: list[HistoryPoint]


class HistoryQuery(WireModel):
    """Query of ``GET cluster/history``."""

    since_ms: int | None = Field(
        None, ge=0, description="Only points newer than this epoch time in milliseconds."
    )


class RayCapabilities(WireModel, frozen=True):
    """What the installed Ray can do; ``notes`` says what degrades on it (one sentence each)."""

    version: str = Field(description="ray.__version__.")
    token_auth: bool = Field(description="Ray has token authentication (Ray >= 2.52).")
    node_labels: bool = Field(description="Pools can come from node labels.")
    job_label_selector: bool = Field(description="A job can be pinned to a pool by label.")
    job_auth_error: bool
    task_state_filters: bool
    node_selectors: bool
    node_session_dir: bool
    owner_cancel_rpc: str | None
    job_storage_timeout: bool
    job_storage_aio: bool
    notes: list[str] = Field(default_factory=list)


class RayInfo(WireModel):
    """How the server reaches Ray (never the token itself)."""

    connected: bool = False
    address: str
    address_source: str = Field(description="Where the address came from (trait, env, file).")
    auth_mode: str = Field(description="token or none.")
    token_source: str = Field(description="Where the token came from (path or env), or none.")
    dashboard: str | None = None
    version: str = Field(description="The installed Ray's version.")
    capabilities: RayCapabilities


class Status(WireModel):
    """``GET status``: version, Ray connection state, jobs backend and last error."""

    version: str
    ray: RayInfo
    jobs_backend: str | None = None
    jobs_backend_change: str | None = Field(
        None, description="Set when jobs ran on another backend before this server started."
    )
    last_error: str | None = None
    last_update: IsoTime = None
    refresh_interval_s: float
    subscribers: int = Field(description="Clients following cluster/subscribe.")
    user: str | None = Field(
        None, description="Who this request acts for: the owner recorded on the jobs it submits."
    )


class ClusterSubscribeQuery(WireModel):
    """Query of ``WS cluster/subscribe``."""

    deltas: bool = Field(
        False,
        description="Send a delta message per change instead of the whole snapshot (after the "
        'full snapshot on connect); the client answers a gap in seq with {"type": "resync"}.',
    )


class SnapshotMessage(WireModel):
    """``WS cluster/subscribe``: the latest snapshot, whole."""

    type: Literal["snapshot"] = "snapshot"
    seq: int = Field(
        0,
        description="The server's sequence number of this snapshot: the next delta has seq + 1. "
        "It grows by one per change, the same for every subscriber of the server.",
    )
    data: ClusterSnapshot


class PlacedNode(WireModel):
    """A node of a delta, with its position in the new snapshot's ``nodes``."""

    index: int = Field(ge=0, description="Its index in the new snapshot's nodes.")
    node: NodeRecord


class PlacedNodeId(WireModel):
    """A node id added to a pool's ``node_ids``, with its position there."""

    index: int = Field(ge=0, description="Its index in the pool's new node_ids.")
    node_id: str


class PoolChange(WireModel):
    """A pool that is new or changed: its new sums, and how its ``node_ids`` changed."""

    name: str
    index: int = Field(ge=0, description="Its index in the new snapshot's pools.")
    num_nodes: int
    totals: ResourceMap
    available: ResourceMap
    node_ids_removed: list[str] = Field(
        default_factory=list, description="Ids that left node_ids (dropped first)."
    )
    node_ids_added: list[PlacedNodeId] = Field(
        default_factory=list, description="Ids that joined node_ids, placed at their index."
    )


class ClusterDeltaMessage(WireModel):
    """``WS cluster/subscribe?deltas=1``: what changed since the snapshot numbered ``seq - 1``.

    To apply it to the snapshot numbered ``seq - 1``: drop ``nodes_removed`` and the nodes of
    ``nodes_changed``, then place every node of ``nodes_added`` and ``nodes_changed`` at its
    ``index`` (in increasing index order); the other nodes keep their order. Pools are patched
    the same way by name (and each pool's ``node_ids`` by id). A top-level field that is null
    did not change. ``idle_ms`` of a node that is not in the delta is as of the last message
    that carried the node (its ticking alone is never pushed). A client whose last seq is not
    ``seq - 1``, or whose result does not have ``num_nodes`` nodes, sends
    ``{"type": "resync"}`` and gets a snapshot message.
    """

    type: Literal["delta"] = "delta"
    seq: int = Field(description="This change's sequence number: it applies to seq - 1.")
    timestamp_ms: int
    num_nodes: int = Field(description="len(nodes) once applied: a check.")
    nodes_removed: list[str] = Field(default_factory=list, description="Node ids that left.")
    nodes_added: list[PlacedNode] = Field(default_factory=list)
    nodes_changed: list[PlacedNode] = Field(
        default_factory=list, description="Nodes whose record changed (idle_ms aside), whole."
    )
    totals: ResourceMap | None = Field(None, description="The new totals; null: unchanged.")
    available: ResourceMap | None = Field(None, description="The new available; null: unchanged.")
    pending_demands: list[ResourceDemand] | None = Field(None, description="null: unchanged.")
    infeasible_demands: list[ResourceDemand] | None = Field(None, description="null: unchanged.")
    pools_removed: list[str] = Field(default_factory=list, description="Names of pools that left.")
    pools_changed: list[PoolChange] = Field(default_factory=list, description="New or changed.")

    timestamp = iso_field(
        "timestamp_ms", "The new snapshot's time as ISO-8601 UTC.", zero_is_null=False
    )


class StatusMessage(WireModel):
    """``WS cluster/subscribe``: Ray's connection state changed (or no snapshot yet)."""

    type: Literal["status"] = "status"
    connected: bool
    message: str | None = None
    last_update: IsoTime = None
