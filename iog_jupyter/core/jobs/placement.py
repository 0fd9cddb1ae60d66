"""Where a job may run: pool → Ray placement options, and why a PENDING job has not started.

Pool mapping (DESIGN §6): a pool is named either by a node label (``PoolConfig.label``, KubeRay's
``ray.io/node-group``) or by a custom resource ``<resource_prefix><pool>``. Which one is decided
against the live cluster: if any live node carries the label with that value, the job gets
``entrypoint_label_selector={label: pool}``; else if any node has the pool resource, it gets
``entrypoint_resources={prefix+pool: 0.001}`` (a sliver, so the pool's resource never limits
how many jobs run there). A pool no live node belongs to is refused, naming the known pools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..cluster import PoolConfig
from ..errors import ValidationError
from ..wire import ClusterSnapshot, NodeRecord

#: The sliver of a pool resource a job asks for, so it runs on that pool's nodes.
POOL_RESOURCE_AMOUNT = 0.001


def pool_placement(
    snapshot: ClusterSnapshot, config: PoolConfig, pool: str, by_label: bool = True
) -> dict[str, Any]:
    """The ``submit_job`` keyword arguments that pin the entrypoint to ``pool``'s nodes.

    ``{"entrypoint_label_selector": {...}}`` where a live node carries the pool's label and Ray
    can place by label (``by_label``: ``RayCapabilities.job_label_selector``), else
    ``{"entrypoint_resources": {...}}``.

    Raises:
        ValidationError: No live node belongs to the pool.
    """
    alive = [n for n in snapshot.nodes if n.state != "DEAD"]
    if by_label and config.label and any(n.labels.get(config.label) == pool for n in alive):
        return {"entrypoint_label_selector": {config.label: pool}}
    resource = f"{config.resource_prefix}{pool}"
    if config.resource_prefix and any(n.resources_total.get(resource, 0) > 0 for n in alive):
        return {"entrypoint_resources": {resource: POOL_RESOURCE_AMOUNT}}
    known = sorted({n.pool for n in alive})
    raise ValidationError(
        f"No node of this cluster is in pool {pool!r}; pools now: {', '.join(known) or 'none'}."
    )


def _shape(bundle: Mapping[str, float]) -> str:
    return ", ".join(
        f"{amount / 2**30:.3g} GiB memory" if name == "memory" else f"{amount:g} {name}"
        for name, amount in sorted(bundle.items())
    )


def job_bundle(
    num_cpus: float | None,
    num_gpus: float | None,
    memory: int | None,
    resources: Mapping[str, float] | None,
) -> dict[str, float]:
    """The resources a job's entrypoint asks for, in Ray's resource names."""
    bundle: dict[str, Any] = {"CPU": num_cpus, "GPU": num_gpus, "memory": memory}
    bundle.update({name: amount for name, amount in (resources or {}).items() if amount})
    return {name: float(amount) for name, amount in bundle.items() if amount}


def _fits(bundle: Mapping[str, float], have: Mapping[str, float]) -> bool:
    return all(have.get(name, 0.0) + 1e-9 >= amount for name, amount in bundle.items())


def explain_pending(
    snapshot: ClusterSnapshot,
    bundle: Mapping[str, float],
    pool: str | None,
) -> str:
    """Say why a job asking for ``bundle`` (:func:`job_bundle`) has not started.

    ``"infeasible: …"`` when no live node could ever run it, ``"waiting: …"`` when the
    resources exist but are busy, else a ``"starting: …"`` phrase.
    """
    nodes: list[NodeRecord] = [n for n in snapshot.nodes if n.state != "DEAD"]
    where = "the cluster"
    if pool:
        nodes = [n for n in nodes if n.pool == pool]
        where = f"pool {pool!r}"
    if not nodes:
        return f"infeasible: {where} has no live node"
    if not bundle:
        return "starting: Ray is setting up the job's runtime environment and supervisor"
    if not any(_fits(bundle, n.resources_total) for n in nodes):
        missing = {
            name: amount
            for name, amount in bundle.items()
            if not any(n.resources_total.get(name, 0.0) >= amount for n in nodes)
        } or dict(bundle)
        return f"infeasible: no node of {where} has {_shape(missing)}"
    if not any(_fits(bundle, n.resources_available) for n in nodes):
        free = {name: max(n.resources_available.get(name, 0.0) for n in nodes) for name in bundle}
        short = {name: bundle[name] for name in bundle if free[name] + 1e-9 < bundle[name]}
        return (
            f"waiting: needs {_shape(short or bundle)} in {where}; "
            f"{_shape({k: free[k] for k in (short or bundle)})} free there"
        )
    return "starting: resources are free; Ray is setting up the job's runtime environment"
