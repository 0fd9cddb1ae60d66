"""What each holder (session, job entrypoint, detached actor) held at one sample of the sessions.

Built from the records one sessions poll already has (the drivers joined as
:class:`~iog_jupyter.core.wire.SessionRecord`, the live actors, the running tasks) and the
monitor's latest per-node usage: no Ray call of its own.

- A session holds what its live non-detached actors and running tasks hold (its
  ``SessionRecord.resources``), on the nodes they run on.
- A Ray job's entrypoint resources (``entrypoint_num_gpus``, ...) are held by Ray's job
  supervisor actor (``_ray_internal_job_actor_<submission_id>``, an actor of Ray's own
  driver): they count for that job, on its driver's session while it lives.
- A detached actor outlives its creator: it is a holder of its own (``actor:<actor id>``),
  named after its namespace and name, owned by its creator's user while the creator is seen.
- Ray's own drivers hold nothing of a user's and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import _ray_compat
from ..wire import NodeUsage, SessionRecord

#: The logical resources accounted (the columns of the usage buckets).
ACCOUNTED = ("CPU", "GPU", "memory")
#: Ray names each job's supervisor actor this, followed by the job's submission id.
JOB_ACTOR_PREFIX = "_ray_internal_job_actor_"


@dataclass
class Holding:
    """What one holder held at one sample: logical CPU, GPU, memory, and GPUs per node."""

    key: str
    kind: str
    label: str
    user: str | None = None
    submission_id: str | None = None
    resources: dict[str, float] = field(default_factory=dict)
    gpus_by_node: dict[str, float] = field(default_factory=dict)
    #: GPU utilisation (%) of the nodes it holds GPUs on, weighted by GPUs held there; None
    #: where no such node reported one.
    gpu_utilization_percent: float | None = None

    def add(self, resources: Any, node_id: bytes) -> None:
        """Count one actor's or task's ``required_resources`` placed on ``node_id``."""
        for name, amount in dict(resources).items():
            if name in ACCOUNTED:
                self.resources[name] = self.resources.get(name, 0.0) + float(amount)
        gpus = float(dict(resources).get("GPU", 0.0))
        if gpus > 0:
            node = node_id.hex() if node_id else ""
            self.gpus_by_node[node] = self.gpus_by_node.get(node, 0.0) + gpus


def _weighted_utilization(
    gpus_by_node: Mapping[str, float], node_usage: Mapping[str, NodeUsage]
) -> float | None:
    """Mean utilisation (%) of the nodes' reporting GPUs, weighted by the GPUs held there."""
    weighted = held = 0.0
    for node, gpus in gpus_by_node.items():
        usage = node_usage.get(node)
        reported = [g.utilization_percent for g in usage.gpus] if usage else []
        values = [v for v in reported if v is not None]
        if values:
            weighted += sum(values) / len(values) * gpus
            held += gpus
    return weighted / held if held else None


def holdings(
    sessions: Iterable[SessionRecord],
    actors: Iterable[Any],
    tasks: Iterable[Any],
    node_usage: Mapping[str, NodeUsage] | None = None,
) -> list[Holding]:
    """Every holder that held some CPU, GPU or memory at this sample (see module docstring).

    ``sessions`` are all of the poll's records, Ray's own included; ``actors`` its live
    actors, ``tasks`` its running tasks; ``node_usage`` the monitor's latest, by node id hex.
    """
    by_job: dict[bytes, Holding] = {}
    owner: dict[bytes, str | None] = {}
    by_submission: dict[str, Holding] = {}
    for record in sessions:
        job = bytes.fromhex(record.session_id)
        owner[job] = record.owner
        if record.internal:
            continue
        holding = Holding(
            record.session_id, record.kind, record.label, record.owner, record.submission_id
        )
        by_job[job] = holding
        if record.submission_id:
            by_submission[record.submission_id] = holding
    found: dict[str, Holding] = {}
    for actor in actors:
        if _ray_compat.actor_state_name(actor) != "ALIVE":
            continue
        name = str(actor.name)
        if name.startswith(JOB_ACTOR_PREFIX):
            sid = name.removeprefix(JOB_ACTOR_PREFIX)
            holding = by_submission.get(sid) or found.setdefault(
                f"job:{sid}", Holding(f"job:{sid}", "job", f"job {sid}", submission_id=sid)
            )
        elif actor.is_detached:
            key = f"actor:{actor.actor_id.hex()}"
            label = f"actor {actor.ray_namespace}/{name or actor.class_name}"
            holding = found.setdefault(
                key, Holding(key, "actor", label, owner.get(bytes(actor.job_id)))
            )
        else:
            holding = by_job.get(bytes(actor.job_id))
        if holding is not None:
            holding.add(actor.required_resources, bytes(actor.node_id))
    for task in tasks:
        holding = by_job.get(bytes(task.job_id))
        if holding is not None:
            holding.add(task.required_resources, bytes(task.node_id))
    result = [h for h in [*by_job.values(), *found.values()] if any(h.resources.values())]
    for holding in result:
        holding.gpu_utilization_percent = _weighted_utilization(
            holding.gpus_by_node, node_usage or {}
        )
    return result
