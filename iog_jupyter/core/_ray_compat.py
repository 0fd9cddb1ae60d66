"""The one place where iog_jupyter touches Ray APIs that are not public.

Each function here is covered by ``tests/test_ray_compat.py`` against the installed Ray, so a
Ray upgrade that moves or changes one of them fails loudly there instead of silently elsewhere.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger(__name__)
_auth_lock = threading.Lock()
_import_lock = threading.Lock()
_imported = False


def import_ray() -> None:
    """Import the parts of Ray iog_jupyter uses, once, on one thread at a time.

    Ray's package has circular imports: two threads importing it for the first time at once
    (the cluster poller and a request's job call, say) can see a partially initialized module
    and fail. Every entry point that touches Ray calls this first; the server calls it at start.
    """
    global _imported
    if _imported:
        return
    with _import_lock:
        if _imported:
            return
        import ray  # noqa: F401
        import ray._raylet  # noqa: F401
        import ray.autoscaler.v2.sdk  # noqa: F401
        import ray.job_submission  # noqa: F401

        _imported = True


_auth_in_use: tuple[str, str] | None = None


def use_token_auth(token_source: str, token_path: str | None) -> None:
    """Make this process's Ray clients send the token iog found (what ``ray start`` does).

    Ray's clients read one token per process, from the environment and Ray's default file, so
    before each GCS call the connection says which token it found; the loader is reset only when
    that changes. Only the mode and the token's *path* go into the environment, never the token:
    kernels that the Jupyter server starts inherit its environment.

    Args:
        token_source: Where the token came from (``RAY_AUTH_TOKEN``, a path's origin, ...).
        token_path: The file the token was read from, or None when it came from the environment.
    """
    global _auth_in_use
    import_ray()
    key = (token_source, token_path or "")
    with _auth_lock:
        if _auth_in_use == key and os.environ.get("RAY_AUTH_MODE") == "token":
            return
        if _auth_in_use is not None:
            # One token per process: the newest connection's token wins.
            log.info("iog_jupyter: Ray clients now use the token from %s", token_source)
        os.environ["RAY_AUTH_MODE"] = "token"
        if token_path and token_source != "RAY_AUTH_TOKEN":
            os.environ["RAY_AUTH_TOKEN_PATH"] = token_path
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
        _auth_in_use = key


def kv_get(gcs_address: str, key: bytes, namespace: bytes, timeout_s: float) -> bytes | None:
    """Read one key of Ray's internal KV store without becoming a driver.

    Args:
        gcs_address: The GCS ``host:port``.
        key: The key, for example ``b"dashboard"``.
        namespace: The KV namespace, for example ``b"dashboard"``.
        timeout_s: Deadline Ray is asked to honour.

    Returns:
        The stored bytes, or None when the key is absent.
    """
    import_ray()
    from ray._raylet import GcsClient

    client = GcsClient(address=gcs_address)
    return client.internal_kv_get(key, namespace=namespace, timeout=timeout_s)


def get_cluster_status(gcs_address: str, timeout_s: float) -> Any:
    """What ``ray status`` asks the GCS: nodes, usage, labels and demands in one call.

    Returns:
        Ray's ``ray.autoscaler.v2.schema.ClusterStatus``.
    """
    import_ray()
    from ray.autoscaler.v2.sdk import get_cluster_status as _get_cluster_status

    return _get_cluster_status(gcs_address, timeout=max(1, int(timeout_s)))


def head_session_dir(gcs_address: str, timeout_s: float) -> str | None:
    """The head node's session dir (``<temp_dir>/session_<…>``), from the GCS node table.

    Ray keeps it in the head's ``GcsNodeInfo.session_dir`` (not in the KV store); this is how a
    ``ray start`` on a worker finds it. Job driver logs live in ``<session_dir>/logs/``.

    Returns:
        The path as the head node sees it, or None when no live head is registered.
    """
    import_ray()
    from ray._raylet import GcsClient
    from ray.core.generated.gcs_pb2 import GcsNodeInfo
    from ray.core.generated.gcs_service_pb2 import GetAllNodeInfoRequest

    selector = GetAllNodeInfoRequest.NodeSelector()
    selector.is_head_node = True
    client = GcsClient(address=gcs_address)
    infos = client.get_all_node_info(timeout=timeout_s, node_selectors=[selector])
    for info in infos.values():
        if info.state == GcsNodeInfo.GcsNodeState.ALIVE and info.session_dir:
            return str(info.session_dir)
    return None


# -- the GCS's actor table and KV store, without becoming a driver ---------------------------

_channels: dict[str, Any] = {}
_channels_lock = threading.Lock()


def _actor_stub(gcs_address: str) -> Any:
    """A stub of the GCS's ``ActorInfoGcsService`` over one cached channel per address.

    Ray's own ``create_gcs_channel`` adds the token-auth interceptor when token auth is on.
    """
    import_ray()
    from ray._private.gcs_utils import create_gcs_channel
    from ray.core.generated import gcs_service_pb2_grpc

    with _channels_lock:
        channel = _channels.get(gcs_address)
        if channel is None:
            channel = _channels[gcs_address] = create_gcs_channel(gcs_address)
    return gcs_service_pb2_grpc.ActorInfoGcsServiceStub(channel)


def _check_reply(reply: Any, what: str) -> None:
    status = getattr(reply, "status", None)
    if status is not None and status.code != 0:
        raise RuntimeError(f"GCS {what} failed: {status.message}")


def list_named_actors(gcs_address: str, timeout_s: float) -> list[tuple[str, str]]:
    """``(namespace, name)`` of every named actor that is not dead, in all namespaces.

    The GCS keeps these in their own map, so the call does not grow with dead actors.
    """
    from ray.core.generated import gcs_service_pb2

    reply = _actor_stub(gcs_address).ListNamedActors(
        gcs_service_pb2.ListNamedActorsRequest(all_namespaces=True), timeout=timeout_s
    )
    _check_reply(reply, "ListNamedActors")
    return [(a.ray_namespace, a.name) for a in reply.named_actors_list]


def named_actor(gcs_address: str, name: str, namespace: str, timeout_s: float) -> Any | None:
    """The GCS's ``ActorTableData`` of a named actor, or None when no live one has the name."""
    from ray.core.generated import gcs_service_pb2

    reply = _actor_stub(gcs_address).GetNamedActorInfo(
        gcs_service_pb2.GetNamedActorInfoRequest(name=name, ray_namespace=namespace),
        timeout=timeout_s,
    )
    if reply.status.code != 0:  # NotFound
        return None
    return reply.actor_table_data


def actor_info(gcs_address: str, actor_id: bytes, timeout_s: float) -> Any | None:
    """The GCS's ``ActorTableData`` of one actor by id, or None when the GCS has none."""
    from ray.core.generated import gcs_service_pb2

    reply = _actor_stub(gcs_address).GetActorInfo(
        gcs_service_pb2.GetActorInfoRequest(actor_id=actor_id), timeout=timeout_s
    )
    if reply.status.code != 0 or not reply.HasField("actor_table_data"):
        return None
    return reply.actor_table_data


def actor_state_name(data: Any) -> str:
    """``ALIVE``, ``PENDING_CREATION``, ``DEAD``, ... of an ``ActorTableData``."""
    from ray.core.generated.gcs_pb2 import ActorTableData

    return ActorTableData.ActorState.Name(data.state)


def kill_actor(
    gcs_address: str, actor_id: bytes, timeout_s: float, no_restart: bool = True
) -> None:
    """Kill an actor through the GCS (what ``ray.kill`` asks), pending ones included."""
    from ray.core.generated import gcs_service_pb2

    reply = _actor_stub(gcs_address).KillActorViaGcs(
        gcs_service_pb2.KillActorViaGcsRequest(
            actor_id=actor_id, force_kill=True, no_restart=no_restart
        ),
        timeout=timeout_s,
    )
    _check_reply(reply, "KillActorViaGcs")


def _gcs_client(gcs_address: str) -> Any:
    import_ray()
    from ray._raylet import GcsClient

    return GcsClient(address=gcs_address)


def kv_put(gcs_address: str, key: bytes, value: bytes, namespace: bytes, timeout_s: float) -> None:
    """Write (overwrite) one key of Ray's internal KV store."""
    _gcs_client(gcs_address).internal_kv_put(
        key, value, True, namespace=namespace, timeout=timeout_s
    )


def kv_del(gcs_address: str, key: bytes, namespace: bytes, timeout_s: float) -> int:
    """Delete one key; returns how many were deleted."""
    return int(
        _gcs_client(gcs_address).internal_kv_del(key, False, namespace=namespace, timeout=timeout_s)
    )


def kv_scan(gcs_address: str, prefix: bytes, namespace: bytes, timeout_s: float) -> dict:
    """Every key under ``prefix`` with its value, in two GCS calls."""
    client = _gcs_client(gcs_address)
    keys = client.internal_kv_keys(prefix, namespace=namespace, timeout=timeout_s)
    if not keys:
        return {}
    return dict(client.internal_kv_multi_get(keys, namespace=namespace, timeout=timeout_s))


# -- Ray's job manager -----------------------------------------------------------------------


def stop_unstarted_job(
    gcs_address: str, submission_id: str, message: str, timeout_s: float
) -> bool:
    """Stop a job whose supervisor actor was never placed (what ``stop_job`` cannot do).

    Ray's ``stop_job`` sends ``stop`` to the job's supervisor actor; while that actor waits for
    resources (an infeasible ``entrypoint_num_gpus``, say) the call is never delivered and the
    job stays PENDING until ``RAY_JOB_START_TIMEOUT_SECONDS`` (15 min). This records the job
    as STOPPED in Ray's job table first, then kills the unplaced supervisor through the GCS;
    Ray's job monitor then finds a terminal job whose actor died, which it expects.

    Returns:
        True when the job was stopped here; False when its supervisor is running (so Ray's own
        ``stop_job`` reaches it) or gone.
    """
    import asyncio

    from ray.dashboard.modules.job.common import (
        JOB_ACTOR_NAME_TEMPLATE,
        SUPERVISOR_ACTOR_RAY_NAMESPACE,
        JobInfoStorageClient,
        JobStatus,
    )

    actor = named_actor(
        gcs_address,
        JOB_ACTOR_NAME_TEMPLATE.format(job_id=submission_id),
        SUPERVISOR_ACTOR_RAY_NAMESPACE,
        timeout_s,
    )
    if actor is None or actor_state_name(actor) in ("ALIVE", "DEAD"):
        return False
    storage = JobInfoStorageClient(_gcs_client(gcs_address))

    async def _mark() -> bool:
        status = await storage.get_status(submission_id, timeout=int(timeout_s) or 1)
        if status != JobStatus.PENDING:
            return False
        await storage.put_status(
            submission_id, JobStatus.STOPPED, message=message, timeout=int(timeout_s) or 1
        )
        return True

    if not asyncio.run(_mark()):
        return False
    kill_actor(gcs_address, actor.actor_id, timeout_s)
    return True


# -- detached actors: many named-actor look-ups at once, first-writer-wins KV puts ------------


def gcs_errors() -> tuple[type[BaseException], ...]:
    """What a GCS call above may raise when the GCS is down, slow or refuses us.

    gRPC stubs raise ``grpc.RpcError``; Ray's ``GcsClient`` raises ``ray.exceptions.RpcError``
    or ``GetTimeoutError``; a failed reply status is a ``RuntimeError`` (:func:`_check_reply`).
    """
    import_ray()
    import grpc
    from ray.exceptions import GetTimeoutError
    from ray.exceptions import RpcError as RayRpcError

    return (grpc.RpcError, RayRpcError, GetTimeoutError, RuntimeError, OSError, TimeoutError)


def named_actors_info(
    gcs_address: str, keys: list[tuple[str, str]], timeout_s: float
) -> dict[tuple[str, str], Any | None]:
    """``ActorTableData`` of many named actors, asked all at once (one RPC each, concurrently).

    Args:
        gcs_address: The GCS ``host:port``.
        keys: ``(namespace, name)`` pairs, for example from :func:`list_named_actors`.
        timeout_s: Deadline of each call (they run concurrently).

    Returns:
        Each key mapped to its actor's table data, or None when no live actor has the name.
    """
    from ray.core.generated import gcs_service_pb2

    stub = _actor_stub(gcs_address)
    futures = {
        key: stub.GetNamedActorInfo.future(
            gcs_service_pb2.GetNamedActorInfoRequest(name=key[1], ray_namespace=key[0]),
            timeout=timeout_s,
        )
        for key in keys
    }
    found: dict[tuple[str, str], Any | None] = {}
    for key, future in futures.items():
        reply = future.result()
        found[key] = reply.actor_table_data if reply.status.code == 0 else None
    return found


def kv_put_if_absent(
    gcs_address: str, key: bytes, value: bytes, namespace: bytes, timeout_s: float
) -> bool:
    """Write one KV key only if it is absent (first writer wins, atomically in the GCS).

    Returns:
        True when this call wrote the value; False when the key already held one (kept).
    """
    added = _gcs_client(gcs_address).internal_kv_put(
        key, value, False, namespace=namespace, timeout=timeout_s
    )
    return int(added) == 1


# -- sessions: the GCS's job table, actors by state or job, running tasks, task cancellation ---


def _gcs_stub(gcs_address: str, service: str) -> Any:
    """A stub of one GCS service (``JobInfoGcsService``, ...) over the cached channel."""
    from ray.core.generated import gcs_service_pb2_grpc

    _actor_stub(gcs_address)  # creates the channel once
    with _channels_lock:
        channel = _channels[gcs_address]
    return getattr(gcs_service_pb2_grpc, f"{service}Stub")(channel)


def list_drivers(gcs_address: str, timeout_s: float) -> list[Any]:
    """Every Ray driver the GCS's job table knows (``JobTableData``), live and ended.

    Each has ``job_id``, ``is_dead``, ``driver_pid``, ``driver_ip_address``, ``driver_address``
    (the driver's core worker), ``start_time``/``end_time`` (ms), ``entrypoint`` and
    ``config.metadata`` / ``config.ray_namespace``. The submission info and the per-driver
    ``is_running_tasks`` probe are skipped: both cost a call per driver.
    """
    from ray.core.generated import gcs_service_pb2

    reply = _gcs_stub(gcs_address, "JobInfoGcsService").GetAllJobInfo(
        gcs_service_pb2.GetAllJobInfoRequest(
            skip_submission_job_info_field=True, skip_is_running_tasks_field=True
        ),
        timeout=timeout_s,
    )
    _check_reply(reply, "GetAllJobInfo")
    return list(reply.job_info_list)


def list_actors(
    gcs_address: str,
    timeout_s: float,
    state: str | None = None,
    job_id: bytes | None = None,
) -> list[Any]:
    """``ActorTableData`` of the actors in one state (``ALIVE``, ...) and/or of one job.

    The GCS filters before replying, so asking for ``ALIVE`` actors does not carry the dead.
    """
    from ray.core.generated import gcs_service_pb2
    from ray.core.generated.gcs_pb2 import ActorTableData

    filters = gcs_service_pb2.GetAllActorInfoRequest.Filters()
    if state is not None:
        filters.state = ActorTableData.ActorState.Value(state)
    if job_id is not None:
        filters.job_id = job_id
    reply = _actor_stub(gcs_address).GetAllActorInfo(
        gcs_service_pb2.GetAllActorInfoRequest(show_dead_jobs=False, filters=filters),
        timeout=timeout_s,
    )
    _check_reply(reply, "GetAllActorInfo")
    return list(reply.actor_table_data)


def running_tasks(gcs_address: str, timeout_s: float, limit: int = 10000) -> list[Any]:
    """``TaskInfoEntry`` of every plain task (not actor or driver tasks) now RUNNING.

    One ``GetTaskEvents`` call filtered by state in the GCS. Task events reach the GCS in
    batches (about every second), so a task that just started may be missing for that long.
    """
    return _plain_tasks(gcs_address, timeout_s, limit, [("EQUAL", "RUNNING")])


def live_tasks(gcs_address: str, timeout_s: float, limit: int = 10000) -> list[Any]:
    """``TaskInfoEntry`` of every plain task not yet ended: running, or waiting to be scheduled.

    Same call as :func:`running_tasks`, filtered on the GCS to states other than FINISHED and
    FAILED (the filters are AND-ed).
    """
    return _plain_tasks(
        gcs_address, timeout_s, limit, [("NOT_EQUAL", "FINISHED"), ("NOT_EQUAL", "FAILED")]
    )


def _plain_tasks(
    gcs_address: str, timeout_s: float, limit: int, states: list[tuple[str, str]]
) -> list[Any]:
    from ray.core.generated import common_pb2, gcs_service_pb2

    filters = gcs_service_pb2.GetTaskEventsRequest.Filters(exclude_driver=True)
    for predicate, value in states:
        state = filters.state_filters.add()
        state.predicate = gcs_service_pb2.FilterPredicate.Value(predicate)
        state.state = value
    reply = _gcs_stub(gcs_address, "TaskInfoGcsService").GetTaskEvents(
        gcs_service_pb2.GetTaskEventsRequest(limit=limit, filters=filters), timeout=timeout_s
    )
    _check_reply(reply, "GetTaskEvents")
    normal = common_pb2.TaskType.Value("NORMAL_TASK")
    return [
        event.task_info
        for event in reply.events_by_task
        if event.HasField("task_info") and event.task_info.type == normal
    ]


def cancel_task(driver_address: Any, task_id: bytes, timeout_s: float) -> None:
    """Ask a task's owner (its driver) to cancel it, force-killing its worker if it runs.

    This is what ``ray.cancel(ref, force=True, recursive=True)`` in the driver does, asked over
    the driver's core-worker gRPC server (``RequestOwnerToCancelTask``) with the Ray token.

    Args:
        driver_address: The driver's ``Address`` (``JobTableData.driver_address``).
        task_id: The task's id.
        timeout_s: Deadline of the call.
    """
    import_ray()
    from ray._private.grpc_utils import init_grpc_channel
    from ray.core.generated import core_worker_pb2, core_worker_pb2_grpc

    # A normal task's first return object is its id followed by the index 1 (little endian).
    return_id = task_id + (1).to_bytes(4, "little")
    channel = init_grpc_channel(f"{driver_address.ip_address}:{driver_address.port}")
    try:
        core_worker_pb2_grpc.CoreWorkerServiceStub(channel).RequestOwnerToCancelTask(
            core_worker_pb2.RequestOwnerToCancelTaskRequest(
                remote_object_id=return_id, force_kill=True, recursive=True
            ),
            timeout=timeout_s,
        )
    finally:
        channel.close()


def alive_node_ips(gcs_address: str, timeout_s: float) -> list[str]:
    """The ``node_manager_address`` of every alive node (``127.0.0.1`` for a loopback head)."""
    import_ray()
    from ray.core.generated.gcs_pb2 import GcsNodeInfo

    infos = _gcs_client(gcs_address).get_all_node_info(timeout=timeout_s)
    return [
        str(info.node_manager_address)
        for info in infos.values()
        if info.state == GcsNodeInfo.GcsNodeState.ALIVE
    ]


def quiet_infeasible_warnings(on_first: Any) -> bool:
    """Drop the autoscaler's repeated "cannot be scheduled / no node type can fulfill" lines.

    Ray's driver prints each autoscaler event forwarded by the log monitor, every few seconds
    while a request stays infeasible. This wraps the driver's log printer: those lines are
    dropped, and ``on_first(line)`` is called with the first one so it can be said once, in
    words. Other log lines pass unchanged. Call after ``ray.init``; idempotent.

    Returns:
        True when the printer was wrapped now or before; False when the driver prints no logs.
    """
    from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher

    markers = ("can fulfill", "cannot be scheduled")
    with dispatcher._lock:
        for index, (name, handler) in enumerate(dispatcher.handlers):
            if name != "ray_print_logs":
                continue
            if getattr(handler, "_iog_quiet", False):
                return True
            state = {"said": False}

            def quiet(data: dict, _inner: Any = handler, state: dict = state) -> None:
                if data.get("pid") == "autoscaler":
                    lines = list(data.get("lines") or [])
                    noisy = [ln for ln in lines if any(m in ln for m in markers)]
                    if noisy:
                        if not state["said"]:
                            state["said"] = True
                            on_first(noisy[0])
                        lines = [ln for ln in lines if ln not in noisy]
                        if not lines:
                            return
                        data = {**data, "lines": lines}
                _inner(data)

            quiet._iog_quiet = True  # type: ignore[attr-defined]
            dispatcher.handlers[index] = (name, quiet)
            return True
    return False


def submission_job_infos(
    gcs_address: str, timeout_s: float, skip: frozenset[str] | set[str] = frozenset()
) -> tuple[list[str], dict[str, Any]]:
    """Ray's submitted-job table, read from the GCS KV store where Ray's job manager keeps it.

    Much cheaper than the dashboard's ``GET /api/jobs/`` (which also walks every driver in the
    GCS job table and serializes all of it): two KV calls, and ``skip`` (ids whose records the
    caller already holds, say terminal ones) are not even fetched.

    Returns:
        Every submission id in the table, and ``{id: JobInfo}`` for those not in ``skip``.
    """
    import json

    from ray._private import ray_constants
    from ray.dashboard.modules.job.common import JobInfo, JobInfoStorageClient

    prefix = JobInfoStorageClient.JOB_DATA_KEY_PREFIX
    client = _gcs_client(gcs_address)
    namespace = ray_constants.KV_NAMESPACE_JOB
    keys = client.internal_kv_keys(prefix.encode(), namespace=namespace, timeout=timeout_s)
    ids = [key.decode()[len(prefix) :] for key in keys]
    wanted = [key for key, sid in zip(keys, ids, strict=True) if sid not in skip]
    values = (
        client.internal_kv_multi_get(wanted, namespace=namespace, timeout=timeout_s)
        if wanted
        else {}
    )
    infos = {
        key.decode()[len(prefix) :]: JobInfo.from_json(json.loads(value))
        for key, value in values.items()
        if value
    }
    return ids, infos
