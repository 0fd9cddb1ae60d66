"""Deltas between two cluster snapshots, for ``WS cluster/subscribe?deltas=1``.

The monitor numbers its snapshots (``seq``, one more per change) and computes one
:class:`~iog_jupyter.core.wire.ClusterDeltaMessage` per change, shared by every subscriber. A
delta names the nodes that were added, removed or changed (by node id, each placed at its index
in the new list), the pools likewise (by name, with their ``node_ids`` patched by id), and the
top-level fields that changed. :func:`apply_delta` is the reference for clients (the Lab's
``ClusterModel`` does the same in TypeScript); :class:`DeltaFollower` is a client's whole
protocol: apply in sequence, and answer a gap or any mismatch with ``{"type": "resync"}``.

A node's ``idle_ms`` ticks on every poll and is ignored when nodes are compared (as the monitor's
change detection ignores it): a node that is not in a delta keeps the ``idle_ms`` of the last
message that carried it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from .wire import ClusterDeltaMessage, ClusterSnapshot, PoolSummary

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

#: Top-level fields of a snapshot a delta carries whole when they changed (None: unchanged).
WHOLE_FIELDS = ("totals", "available", "pending_demands", "infeasible_demands")
#: Top-level fields a delta handles otherwise: always sent, or patched by key.
OTHER_FIELDS = ("timestamp_ms", "timestamp", "nodes", "pools")
#: The message a client sends to get the whole snapshot again.
RESYNC = {"type": "resync"}


class DeltaMismatch(ValueError):
    """A delta does not fit the snapshot it is applied to: the client must resync."""


def without_idle(node: Mapping[str, Any]) -> dict[str, Any]:
    """A node record without ``idle_ms``, which ticks on every poll."""
    return {k: v for k, v in node.items() if k != "idle_ms"}


def _same_node(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether two node records are the same, ``idle_ms`` aside."""
    return old == new or without_idle(old) == without_idle(new)


def _keyed_changes(
    old_keys: Sequence[K],
    new_keys: Sequence[K],
    same: Callable[[K, int], bool],
    limit: int | None = None,
) -> tuple[list[K], list[int], list[int]] | None:
    """Removed keys, indexes (in new) of added and of changed items; None when not expressible.

    ``same(key, new_index)`` says whether a kept item is unchanged. None when a key repeats, more
    than ``limit`` items are added or changed, or the unchanged items are not in the same
    relative order in both lists (the apply rule could not rebuild the order).
    """
    old_set = set(old_keys)
    new_set = set(new_keys)
    if len(old_set) != len(old_keys) or len(new_set) != len(new_keys):
        return None
    removed = [key for key in old_keys if key not in new_set]
    added: list[int] = []
    changed: list[int] = []
    kept_new: list[K] = []
    for index, key in enumerate(new_keys):
        if key not in old_set:
            added.append(index)
        elif same(key, index):
            kept_new.append(key)
        else:
            changed.append(index)
        if limit is not None and len(added) + len(changed) > limit:
            return None
    touched = set(removed).union(new_keys[i] for i in changed)
    if [key for key in old_keys if key not in touched] != kept_new:
        return None
    return removed, added, changed


def compute_delta(
    old: Mapping[str, Any], new: Mapping[str, Any], seq: int
) -> ClusterDeltaMessage | None:
    """The delta from snapshot ``old`` (numbered ``seq - 1``) to ``new`` (numbered ``seq``).

    Both are ``ClusterSnapshot.model_dump()``. None when a whole snapshot says it better: an
    unknown top-level field (one added to ``ClusterSnapshot`` that this module does not know),
    repeated ids, an order the apply rule cannot rebuild, or over half the nodes added or changed.
    """
    if set(new) - set(WHOLE_FIELDS) - set(OTHER_FIELDS):
        return None
    old_nodes, new_nodes = old["nodes"], new["nodes"]
    old_by_id = {node["node_id"]: node for node in old_nodes}
    nodes = _keyed_changes(
        [node["node_id"] for node in old_nodes],
        [node["node_id"] for node in new_nodes],
        lambda key, i: _same_node(old_by_id[key], new_nodes[i]),
        limit=len(new_nodes) // 2,
    )
    if nodes is None:
        return None
    removed, added, changed = nodes

    old_pools = {pool["name"]: pool for pool in old["pools"]}
    new_pools = new["pools"]
    pools = _keyed_changes(
        [pool["name"] for pool in old["pools"]],
        [pool["name"] for pool in new_pools],
        lambda key, i: old_pools[key] == new_pools[i],
    )
    if pools is None:
        return None
    pools_removed, pools_added, pools_changed = pools
    pool_changes = []
    for index in sorted(pools_added + pools_changed):
        pool = new_pools[index]
        old_ids = old_pools[pool["name"]]["node_ids"] if pool["name"] in old_pools else []
        ids = _keyed_changes(old_ids, pool["node_ids"], lambda key, i: True)
        if ids is None:
            return None
        ids_removed, ids_added, _ = ids
        pool_changes.append(
            {
                **pool,  # its node_ids go as the two lists below (PoolChange has no node_ids)
                "index": index,
                "node_ids_removed": ids_removed,
                "node_ids_added": [{"index": i, "node_id": pool["node_ids"][i]} for i in ids_added],
            }
        )

    delta: dict[str, Any] = {
        "seq": seq,
        "timestamp_ms": new["timestamp_ms"],
        "num_nodes": len(new_nodes),
        "nodes_removed": removed,
        "nodes_added": [{"index": i, "node": new_nodes[i]} for i in added],
        "nodes_changed": [{"index": i, "node": new_nodes[i]} for i in changed],
        "pools_removed": pools_removed,
        "pools_changed": pool_changes,
    }
    for name in WHOLE_FIELDS:
        if old.get(name) != new.get(name):
            delta[name] = new.get(name)
    return ClusterDeltaMessage.model_validate(delta)


def _patch(
    items: Sequence[T],
    key_of: Callable[[T], Any],
    removed: Sequence[Any],
    added: Sequence[tuple[int, T]],
    changed: Sequence[tuple[int, T]] = (),
) -> list[T]:
    """Drop ``removed`` and changed keys, then place added and changed items at their index.

    Raises:
        DeltaMismatch: A removed or changed key is not in ``items``, an added one already is, or
            an index does not fit.
    """
    keys = {key_of(item) for item in items}
    if len(keys) != len(items):
        raise DeltaMismatch("repeated keys in the base")
    gone = set(removed)
    for _, item in changed:
        gone.add(key_of(item))
    if not gone <= keys:
        raise DeltaMismatch("the delta removes or changes an item the base does not have")
    if any(key_of(item) in keys for _, item in added):
        raise DeltaMismatch("the delta adds an item the base already has")
    kept = [item for item in items if key_of(item) not in gone]
    placed = {index: item for index, item in [*added, *changed]}
    size = len(kept) + len(added) + len(changed)
    if len(placed) != len(added) + len(changed) or any(i >= size for i in placed):
        raise DeltaMismatch("the delta places items at repeated or out-of-range indexes")
    rest = iter(kept)
    return [placed[i] if i in placed else next(rest) for i in range(size)]


def apply_delta(old: ClusterSnapshot, delta: ClusterDeltaMessage) -> ClusterSnapshot:
    """The snapshot ``delta`` leads to from ``old`` (the one numbered ``delta.seq - 1``).

    Raises:
        DeltaMismatch: The delta does not fit ``old``.
    """
    nodes = _patch(
        old.nodes,
        lambda node: node.node_id,
        delta.nodes_removed,
        [(p.index, p.node) for p in delta.nodes_added],
        [(p.index, p.node) for p in delta.nodes_changed],
    )
    if len(nodes) != delta.num_nodes:
        raise DeltaMismatch(f"{len(nodes)} nodes once applied, not {delta.num_nodes}")
    old_pools = {pool.name: pool for pool in old.pools}
    added_pools: list[tuple[int, PoolSummary]] = []
    changed_pools: list[tuple[int, PoolSummary]] = []
    for change in delta.pools_changed:
        base = old_pools.get(change.name)
        ids = _patch(
            base.node_ids if base is not None else [],
            lambda node_id: node_id,
            change.node_ids_removed,
            [(p.index, p.node_id) for p in change.node_ids_added],
        )
        if len(ids) != change.num_nodes:
            raise DeltaMismatch(
                f"pool {change.name!r}: {len(ids)} node ids, not {change.num_nodes}"
            )
        pool = PoolSummary(
            name=change.name,
            num_nodes=change.num_nodes,
            node_ids=ids,
            totals=change.totals,
            available=change.available,
        )
        (changed_pools if base is not None else added_pools).append((change.index, pool))
    pools = _patch(
        old.pools, lambda pool: pool.name, delta.pools_removed, added_pools, changed_pools
    )
    update: dict[str, Any] = {"timestamp_ms": delta.timestamp_ms, "nodes": nodes, "pools": pools}
    for name in WHOLE_FIELDS:
        value = getattr(delta, name)
        if value is not None:
            update[name] = value
    return old.model_copy(update=update)


class DeltaFollower:
    """A client's side of ``WS cluster/subscribe?deltas=1``: the snapshot it holds, and its seq.

    Feed it every message; it returns what to send back (``{"type": "resync"}`` after a gap or a
    delta that does not fit), else None. After asking, it ignores deltas until a snapshot comes.
    """

    def __init__(self) -> None:
        self.snapshot: ClusterSnapshot | None = None
        self.seq: int | None = None
        self.resyncing = False
        #: How many times it asked for a resync.
        self.resyncs = 0

    def receive(self, message: Mapping[str, Any]) -> dict[str, str] | None:
        """Take one message of the socket; returns the message to send back, if any."""
        kind = message.get("type")
        if kind == "snapshot":
            self.snapshot = ClusterSnapshot.model_validate(message["data"])
            seq = message.get("seq")
            self.seq = seq if isinstance(seq, int) else None
            self.resyncing = False
            return None
        if kind != "delta" or self.resyncing:
            return None
        delta = ClusterDeltaMessage.model_validate(message)
        if self.snapshot is None or self.seq is None or delta.seq != self.seq + 1:
            return self._resync()
        try:
            self.snapshot = apply_delta(self.snapshot, delta)
        except DeltaMismatch:
            return self._resync()
        self.seq = delta.seq
        return None

    def _resync(self) -> dict[str, str]:
        self.resyncing = True
        self.resyncs += 1
        return dict(RESYNC)
