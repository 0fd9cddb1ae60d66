"""Ray's job manager: its job table in the KV store, unplaced supervisors, its SDK's errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .capabilities import capabilities, import_ray
from .gcs import actor_state_name, gcs_client, kill_actor, named_actor


def driver_job_env(submission_id: str, metadata: dict[str, str]) -> dict[str, str]:
    """The environment that makes a process's Ray drivers part of job ``submission_id``.

    Ray's job supervisor gives a submitted job's entrypoint ``RAY_JOB_CONFIG_JSON_ENV_VAR``; every
    ``ray.init`` under it records the job's id, default name and ``metadata`` in its driver's
    ``JobConfig`` (overriding the driver's own keys), so the driver is known as that job. A job
    started without Ray's job API gets the same.
    """
    import_ray()
    from ray._private.runtime_env.constants import RAY_JOB_CONFIG_JSON_ENV_VAR
    from ray.dashboard.modules.job.common import JOB_ID_METADATA_KEY, JOB_NAME_METADATA_KEY

    meta = {JOB_ID_METADATA_KEY: submission_id, JOB_NAME_METADATA_KEY: submission_id, **metadata}
    return {RAY_JOB_CONFIG_JSON_ENV_VAR: json.dumps({"metadata": meta})}


def job_auth_errors() -> tuple[type[BaseException], ...]:
    """The job SDK's exception for a refused Ray token; empty where the SDK has none."""
    import_ray()
    if not capabilities().job_auth_error:
        return ()
    from ray.dashboard.modules.dashboard_sdk import AuthenticationError

    return (AuthenticationError,)


def job_client(dashboard_url: str, headers: dict[str, str]) -> Any:
    """Ray's ``JobSubmissionClient`` for exactly ``dashboard_url``, whatever the environment says.

    ``JobSubmissionClient(url)`` replaces ``url`` with ``RAY_ADDRESS`` when that is set (and
    newer Rays with ``RAY_API_SERVER_ADDRESS``), then resolves a GCS address through a GCS client
    of its own, which blocks for 30-60 s where that address does not answer as given (a
    single-node head's clients rewrite 127.0.0.1). The Jupyter server and kernels have
    ``RAY_ADDRESS`` set, so the client is built here on the dashboard URL iog already knows, with
    the same connection and version checks Ray's constructor makes.

    Raises:
        RuntimeError, OSError: The dashboard did not answer or its Ray is too old for jobs.
    """
    import_ray()
    import ray
    from ray.dashboard.modules.dashboard_sdk import SubmissionClient
    from ray.job_submission import JobSubmissionClient

    class _JobClient(JobSubmissionClient):
        def __init__(self) -> None:  # noqa: D107 - see job_client()
            self._client_ray_version = ray.__version__
            SubmissionClient.__init__(self, address=dashboard_url, headers=headers)
            self._check_connection_and_version(
                min_version="2.0",
                version_error_message="Ray's job API on this cluster is older than Ray 2.0.",
            )

    return _JobClient()


def stop_unstarted_job(
    gcs_address: str, submission_id: str, message: str, timeout_s: float
) -> bool:
    """Stop a job whose supervisor actor was never placed (what ``stop_job`` cannot do).

    Ray's ``stop_job`` sends ``stop`` to the job's supervisor actor; while that actor waits for
    resources (an infeasible ``entrypoint_num_gpus``, say) the call is never delivered and the
    job stays PENDING until ``RAY_JOB_START_TIMEOUT_SECONDS`` (15 min). This records the job
    as STOPPED in Ray's job table first, then kills the unplaced supervisor through the GCS;
    Ray's job monitor then finds a terminal job whose actor died, which it expects. False when
    the supervisor is running (so Ray's own ``stop_job`` reaches it) or gone.
    """
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
    kwargs = {"timeout": int(timeout_s) or 1} if capabilities().job_storage_timeout else {}

    async def _mark() -> bool:
        if capabilities().job_storage_aio:  # made inside the loop that uses it
            from ray._private.gcs_aio_client import GcsAioClient

            storage = JobInfoStorageClient(GcsAioClient(address=gcs_address))
        else:
            storage = JobInfoStorageClient(gcs_client(gcs_address))
        status = await storage.get_status(submission_id, **kwargs)
        if status != JobStatus.PENDING:
            return False
        await storage.put_status(submission_id, JobStatus.STOPPED, message=message, **kwargs)
        return True

    if not asyncio.run(_mark()):
        return False
    kill_actor(gcs_address, actor.actor_id, timeout_s)
    return True


def _job_table() -> tuple[str, bytes]:
    """The key prefix and the KV namespace of Ray's submitted-job table."""
    import_ray()
    from ray._private import ray_constants
    from ray.dashboard.modules.job.common import JobInfoStorageClient

    return JobInfoStorageClient.JOB_DATA_KEY_PREFIX, ray_constants.KV_NAMESPACE_JOB


def _read_infos(client: Any, keys: list[bytes], timeout_s: float) -> dict[str, Any]:
    """``{id: JobInfo}`` of these job-table keys (one KV multi-get; missing ones left out)."""
    from ray.dashboard.modules.job.common import JobInfo

    if not keys:
        return {}
    prefix, namespace = _job_table()
    values = client.internal_kv_multi_get(keys, namespace=namespace, timeout=timeout_s)
    return {
        key.decode()[len(prefix) :]: JobInfo.from_json(json.loads(value))
        for key, value in values.items()
        if value
    }


def job_infos(gcs_address: str, timeout_s: float, ids: list[str]) -> dict[str, Any]:
    """``{id: JobInfo}`` of the named submitted jobs (one KV multi-get; missing ids left out)."""
    if not ids:
        return {}
    prefix, _ = _job_table()
    keys = [(prefix + sid).encode() for sid in ids]
    return _read_infos(gcs_client(gcs_address), keys, timeout_s)


def submission_job_infos(
    gcs_address: str, timeout_s: float, skip: frozenset[str] | set[str] = frozenset()
) -> tuple[list[str], dict[str, Any]]:
    """Ray's submitted-job table, read from the GCS KV store where Ray's job manager keeps it.

    Much cheaper than the dashboard's ``GET /api/jobs/`` (which also walks every driver in the
    GCS job table and serializes all of it): two KV calls, and ``skip`` (ids whose records the
    caller already holds, say terminal ones) are not even fetched. Returns every submission id
    in the table, and ``{id: JobInfo}`` for those not in ``skip``.
    """
    prefix, namespace = _job_table()
    client = gcs_client(gcs_address)
    keys = client.internal_kv_keys(prefix.encode(), namespace=namespace, timeout=timeout_s)
    ids = [key.decode()[len(prefix) :] for key in keys]
    wanted = [key for key, sid in zip(keys, ids, strict=True) if sid not in skip]
    return ids, _read_infos(client, wanted, timeout_s)
