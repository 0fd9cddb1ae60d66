"""Drivers and tasks: the GCS's job table, running tasks, task cancellation, driver log noise."""

from __future__ import annotations

from typing import Any

from .capabilities import capabilities, import_ray
from .gcs import check_reply, gcs_stub

_ENDED = ("FINISHED", "FAILED")


def list_drivers(gcs_address: str, timeout_s: float) -> list[Any]:
    """Every Ray driver the GCS's job table knows (``JobTableData``), live and ended.

    Each has ``job_id``, ``is_dead``, ``driver_pid``, ``driver_ip_address``, ``driver_address``
    (the driver's core worker), ``start_time``/``end_time`` (ms), ``entrypoint`` and
    ``config.metadata`` / ``config.ray_namespace``. The submission info and the per-driver
    ``is_running_tasks`` probe are skipped: both cost a call per driver.
    """
    from ray.core.generated import gcs_service_pb2

    reply = gcs_stub(gcs_address, "JobInfoGcsService").GetAllJobInfo(
        gcs_service_pb2.GetAllJobInfoRequest(
            skip_submission_job_info_field=True, skip_is_running_tasks_field=True
        ),
        timeout=timeout_s,
    )
    check_reply(reply, "GetAllJobInfo")
    return list(reply.job_info_list)


def running_tasks(gcs_address: str, timeout_s: float, limit: int = 10000) -> list[Any]:
    """``TaskInfoEntry`` of every plain task (not actor or driver tasks) now RUNNING.

    Its ``node_id`` is filled from the task's state updates when Ray left it empty.

    One ``GetTaskEvents`` call filtered by state in the GCS. Task events reach the GCS in
    batches (about every second), so a task that just started may be missing for that long.
    """
    return _plain_tasks(gcs_address, timeout_s, limit, running=True)


def live_tasks(gcs_address: str, timeout_s: float, limit: int = 10000) -> list[Any]:
    """``TaskInfoEntry`` of every plain task not yet ended: running, or waiting to be scheduled.

    Newer Rays filter on the GCS (states other than FINISHED and FAILED, AND-ed); older ones
    take one state only, so there the task's latest state is read from its events here.
    """
    return _plain_tasks(gcs_address, timeout_s, limit, running=False)


def _latest_state(event: Any) -> str | None:
    """The newest state in a ``TaskEvents``' state updates (older Rays' client-side filter)."""
    from ray.core.generated import common_pb2

    stamps = event.state_updates.state_ts_ns if event.HasField("state_updates") else {}
    if not stamps:
        return None
    names = {common_pb2.TaskStatus.Name(s) for s in stamps}
    ended = next((name for name in _ENDED if name in names), None)
    return ended or str(common_pb2.TaskStatus.Name(max(stamps, key=stamps.__getitem__)))


def _plain_tasks(gcs_address: str, timeout_s: float, limit: int, running: bool) -> list[Any]:
    from ray.core.generated import common_pb2, gcs_service_pb2

    filters = gcs_service_pb2.GetTaskEventsRequest.Filters(exclude_driver=True)
    by_gcs = capabilities().task_state_filters
    if by_gcs:
        states = [("EQUAL", "RUNNING")] if running else [("NOT_EQUAL", s) for s in _ENDED]
        for predicate, value in states:
            state = filters.state_filters.add()
            state.predicate = gcs_service_pb2.FilterPredicate.Value(predicate)
            state.state = value
    elif running:
        filters.state = "RUNNING"
    reply = gcs_stub(gcs_address, "TaskInfoGcsService").GetTaskEvents(
        gcs_service_pb2.GetTaskEventsRequest(limit=limit, filters=filters), timeout=timeout_s
    )
    check_reply(reply, "GetTaskEvents")
    normal = common_pb2.TaskType.Value("NORMAL_TASK")
    events = [
        event
        for event in reply.events_by_task
        if event.HasField("task_info") and event.task_info.type == normal
    ]
    if not by_gcs and not running:
        events = [event for event in events if _latest_state(event) not in _ENDED]
    for event in events:  # where it runs is in its state updates (usage accounting wants it)
        if not event.task_info.node_id and event.state_updates.node_id:
            event.task_info.node_id = event.state_updates.node_id
    return [event.task_info for event in events]


def cancel_task(driver_address: Any, task_id: bytes, timeout_s: float) -> None:
    """Ask a task's owner (its driver) to cancel it, force-killing its worker if it runs.

    This is what ``ray.cancel(ref, force=True, recursive=True)`` in the driver does, asked over
    the driver's core-worker gRPC server (``RequestOwnerToCancelTask``, ``RemoteCancelTask`` in
    older Rays) with the Ray token where Ray has one; ``driver_address`` is the driver's
    ``Address`` (``JobTableData.driver_address``).

    Raises:
        RuntimeError: The installed Ray has neither RPC.
    """
    import_ray()
    from ray.core.generated import core_worker_pb2, core_worker_pb2_grpc

    rpc = capabilities().owner_cancel_rpc
    if rpc is None:
        raise RuntimeError("This Ray cannot ask a task's owner to cancel it.")
    try:
        from ray._private.grpc_utils import init_grpc_channel
    except ImportError:  # Ray < 2.4x kept it in ray._private.utils
        from ray._private.utils import init_grpc_channel

    # A normal task's first return object is its id followed by the index 1 (little endian).
    return_id = task_id + (1).to_bytes(4, "little")
    request = getattr(core_worker_pb2, f"{rpc}Request")(
        remote_object_id=return_id, force_kill=True, recursive=True
    )
    channel = init_grpc_channel(f"{driver_address.ip_address}:{driver_address.port}")
    try:
        stub = core_worker_pb2_grpc.CoreWorkerServiceStub(channel)
        getattr(stub, rpc)(request, timeout=timeout_s)
    finally:
        channel.close()


def quiet_infeasible_warnings(on_first: Any) -> bool:
    """Drop the autoscaler's repeated "cannot be scheduled / no node type can fulfill" lines.

    Ray's driver prints each autoscaler event forwarded by the log monitor, every few seconds
    while a request stays infeasible. This wraps the driver's log printer: those lines are
    dropped, and ``on_first(line)`` is called with the first one so it can be said once, in
    words. Other log lines pass unchanged. Call after ``ray.init``; idempotent. False when the
    driver prints no logs.
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
