"""Sessions: Ray drivers joined with Jupyter kernels, what each holds, and releasing it.

A session is a live Ray driver. It is attributed to a notebook by the metadata
``connect()`` puts on its job (kernel id, notebook path, user) and,
for drivers started with a plain ``ray.init``, by its pid matching a kernel's pid. Drivers that
are neither (scripts, Ray jobs) are listed as such. Everything comes from three GCS calls (the
job table, the live actors, the running tasks) whatever the number of sessions.

Nothing here knows Jupyter: the server passes its kernels in as :class:`KernelInfo`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _ray_compat
from ..connection import RayConnection
from ..errors import ForbiddenError, NotFoundError, RayUnavailableError, ValidationError
from ..wire import ReleaseResult, SessionRecord
from ..wire.jobs import OWNER_KEY, job_name
from ..wire.sessions import INTERNAL_NAMESPACE_PREFIX
from .connect import META_KERNEL_ID, META_KIND, META_NOTEBOOK_PATH, META_USER

JOB_ID_RE = re.compile(r"^[0-9a-f]{8}$")
KERNEL_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LIVE_ACTOR_STATES = ("ALIVE", "PENDING_CREATION")
HELD_RESOURCES = ("CPU", "GPU", "memory")


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` (a Ray job id or a kernel id, lower-cased) if well formed.

    Raises:
        ValidationError: Neither 8 hex digits (a Ray job id) nor a kernel UUID.
    """
    value = session_id.strip().lower()
    if not (JOB_ID_RE.match(value) or KERNEL_ID_RE.match(value)):
        raise ValidationError(
            f"Bad session id {session_id[:70]!r}: give the session's Ray job id (8 hex digits, "
            "as `GET sessions` lists it) or its kernel id (a UUID).",
            reason="bad_session_id",
        )
    return value


def refuse_internal(session_id: str, namespace: str) -> None:
    """Refuse to release a driver of Ray's own (the dashboard's, the job manager's).

    Raises:
        ForbiddenError: ``namespace`` is one of Ray's internal ones (reason ``internal_driver``).
    """
    if namespace.startswith(INTERNAL_NAMESPACE_PREFIX):
        raise ForbiddenError(
            f"Session {session_id} is Ray's own driver (namespace {namespace[:64]}); Ray needs "
            "it, so it is never released. Release a notebook's or a job's session instead.",
            reason="internal_driver",
        )


@dataclass(frozen=True)
class KernelInfo:
    """One kernel of the Jupyter server, as the server's kernel and session managers see it."""

    kernel_id: str
    pid: int | None
    execution_state: str
    last_activity_ms: int | None
    connections: int = 0
    notebook_path: str | None = None


def _add(total: dict[str, float], resources: Any) -> None:
    for name, amount in dict(resources).items():
        total[name] = total.get(name, 0.0) + float(amount)


def _kind(meta: dict[str, str], kernel: KernelInfo | None) -> str:
    if meta.get(META_KIND) == "notebook" or kernel is not None:
        return "notebook"
    if "job_submission_id" in meta or meta.get(META_KIND) == "job":
        return "job"
    return "script"


def _job_name(meta: dict[str, str]) -> str | None:
    """The name a job's driver carries, unless it is only the id (Ray's default name)."""
    name = job_name(meta, "")
    return name if name and name != meta.get("job_submission_id") else None


def _gcs_call(conn: RayConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
    return conn.gcs_call(fn, conn.request_timeout_s, *args, **kwargs)


def read_cluster(conn: RayConnection) -> tuple[list[Any], list[Any], list[Any]]:
    """The GCS's live drivers, live actors and running tasks (three calls, off the loop).

    Raises:
        RayUnavailableError: The GCS did not answer.
    """
    drivers = [d for d in _gcs_call(conn, _ray_compat.list_drivers) if not d.is_dead]
    actors: list[Any] = []
    for state in LIVE_ACTOR_STATES:
        actors.extend(_gcs_call(conn, _ray_compat.list_actors, state=state))
    tasks = _gcs_call(conn, _ray_compat.running_tasks)
    return drivers, actors, tasks


def build_sessions(
    drivers: Iterable[Any],
    actors: Iterable[Any],
    tasks: Iterable[Any],
    kernels: Sequence[KernelInfo] = (),
    now_ms: int | None = None,
) -> list[SessionRecord]:
    """Join live drivers with kernels, actors and tasks (pure; see :func:`list_sessions`)."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    by_id = {k.kernel_id: k for k in kernels}
    by_pid = {k.pid: k for k in kernels if k.pid}
    sessions: dict[bytes, SessionRecord] = {}
    for driver in drivers:
        meta = dict(driver.config.metadata)
        attributed: list[str] = []
        kernel = by_id.get(meta.get(META_KERNEL_ID, ""))
        if kernel is not None:
            attributed.append("metadata")
        pid_kernel = by_pid.get(int(driver.driver_pid))
        if pid_kernel is not None and (kernel is None or pid_kernel is kernel):
            kernel = pid_kernel
            attributed.append("pid")
        if not attributed and META_KERNEL_ID in meta:
            attributed.append("metadata")
        record = SessionRecord(
            session_id=driver.job_id.hex(),
            kind=_kind(meta, kernel),
            driver_pid=int(driver.driver_pid),
            driver_ip=str(driver.driver_ip_address),
            namespace=str(driver.config.ray_namespace),
            owner=meta.get(OWNER_KEY) or meta.get(META_USER),  # a job: who submitted it
            kernel_id=kernel.kernel_id if kernel else meta.get(META_KERNEL_ID),
            notebook_path=(kernel.notebook_path if kernel else None)
            or meta.get(META_NOTEBOOK_PATH),
            submission_id=meta.get("job_submission_id"),
            job_name=_job_name(meta),
            attributed_by=attributed,
            local_kernel=kernel is not None,
            execution_state=kernel.execution_state if kernel else None,
            last_activity_ms=kernel.last_activity_ms if kernel else None,
            start_time_ms=int(driver.start_time) or None,
            resources={name: 0.0 for name in HELD_RESOURCES},
        )
        sessions[bytes(driver.job_id)] = record
    for actor in actors:
        record = sessions.get(bytes(actor.job_id))
        if record is None:
            continue
        if actor.is_detached:
            record.detached_actors += 1
            continue
        record.actors += 1
        if _ray_compat.actor_state_name(actor) == "ALIVE":
            _add(record.resources, actor.required_resources)
    for task in tasks:
        record = sessions.get(bytes(task.job_id))
        if record is not None:
            record.running_tasks += 1
            _add(record.resources, task.required_resources)
    for record in sessions.values():
        if record.local_kernel:
            busy = record.execution_state == "busy" or record.running_tasks > 0
            last = record.last_activity_ms or now_ms
            record.idle_s = 0.0 if busy else max(0.0, (now_ms - last) / 1000)
    return sorted(sessions.values(), key=lambda s: (s.start_time_ms or 0, s.session_id))


def list_sessions(
    conn: RayConnection,
    kernels: Sequence[KernelInfo] = (),
    now_ms: int | None = None,
    internal: bool = False,
) -> list[SessionRecord]:
    """Every live Ray driver, attributed to its notebook where possible, oldest first.

    ``kernels`` are the Jupyter server's (none in a kernel or the CLI's local mode); idle seconds
    are counted to ``now_ms`` (now when None). Ray's own drivers only with ``internal``.

    Raises:
        RayUnavailableError: The GCS did not answer.
    """
    drivers, actors, tasks = read_cluster(conn)
    sessions = build_sessions(drivers, actors, tasks, kernels, now_ms)
    return [s for s in sessions if internal or not s.internal]


def _holds_any(resources: Any, names: Sequence[str] | None) -> bool:
    if names is None:
        return True
    held = dict(resources)
    return any(float(held.get(name, 0)) > 0 for name in names)


def _attempt(result: ReleaseResult, kind: str, ray_id: bytes, where: Any, timeout_s: float) -> bool:
    """Kill an actor or cancel a task (``kind``); False, with the error noted, when it failed."""
    act = _ray_compat.kill_actor if kind == "actor" else _ray_compat.cancel_task
    try:
        act(where, ray_id, timeout_s)
    except _ray_compat.gcs_errors() as err:
        result.errors.append(f"{kind} {ray_id.hex()}: {type(err).__name__}")
        return False
    return True


def release_session(
    conn: RayConnection, session_id: str, resources: Sequence[str] | None = None
) -> ReleaseResult:
    """Kill a session's non-detached actors and cancel its running tasks. Never detached ones.

    ``session_id`` is the driver's Ray job id (hex). With ``resources``, only actors and tasks
    holding one of them are released (``["GPU"]``, what the idle policy releases).

    Raises:
        NotFoundError: No live driver has this job id.
        ForbiddenError: It is Ray's own driver (see :func:`refuse_internal`).
        RayUnavailableError: The GCS did not answer.
    """
    session_id = check_session_id(session_id)
    drivers = [d for d in _gcs_call(conn, _ray_compat.list_drivers) if not d.is_dead]
    driver = next((d for d in drivers if d.job_id.hex() == session_id), None)
    if driver is None:
        raise NotFoundError(
            f"No live Ray driver has the job id {session_id}; `iog sessions list` (GET sessions) "
            "shows the live ones.",
            reason="session_not_found",
        )
    refuse_internal(session_id, str(driver.config.ray_namespace))
    result = ReleaseResult(session_id=session_id)
    job_id = bytes(driver.job_id)
    for actor in _gcs_call(conn, _ray_compat.list_actors, job_id=job_id):
        if _ray_compat.actor_state_name(actor) == "DEAD":
            continue
        if actor.is_detached:
            result.kept_detached_actors += 1
            continue
        if not _holds_any(actor.required_resources, resources):
            result.kept_other_actors += 1
        elif _attempt(result, "actor", actor.actor_id, conn.address, conn.request_timeout_s):
            result.killed_actors.append(actor.actor_id.hex())
    # Running and queued tasks alike: a queued one would take the resources later.
    for task in _gcs_call(conn, _ray_compat.live_tasks):
        if bytes(task.job_id) != job_id or not _holds_any(task.required_resources, resources):
            continue
        if _attempt(result, "task", task.task_id, driver.driver_address, conn.request_timeout_s):
            result.cancelled_tasks += 1
    if result.errors and not (result.killed_actors or result.cancelled_tasks):
        raise RayUnavailableError(
            f"Releasing session {session_id} failed: {'; '.join(result.errors[:3])}."
        )
    return result
