"""What the installed Ray can do, detected once by looking for each feature (never by version).

The cluster owns its Ray: iog_jupyter runs on every Ray from 2.40 to the newest, so each feature
that differs between them is detected here, once per process, from the installed package itself.
Everything else in iog_jupyter asks :func:`capabilities` instead of catching ``ImportError`` or
``AttributeError`` at the call site. What an older Ray lacks degrades with a sentence
(``RayCapabilities.notes``), shown by ``GET status``, ``iog status`` and ``doctor``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
from typing import Any

from ..wire import RayCapabilities

_import_lock = threading.Lock()

#: The first Ray with token authentication (``RAY_AUTH_MODE=token``).
TOKEN_AUTH_SINCE = "2.52"


def import_ray() -> None:
    """Import the parts of Ray iog_jupyter uses, once, on one thread at a time.

    Ray's package has circular imports: two threads importing it for the first time at once
    (the cluster poller and a request's job call, say) can see a partially initialized module
    and fail. Every entry point that touches Ray calls this first; the server calls it at start.
    """
    with _import_lock:
        import ray  # noqa: F401
        import ray._raylet  # noqa: F401
        import ray.autoscaler.v2.sdk  # noqa: F401
        import ray.job_submission  # noqa: F401


def no_token_auth(version: str) -> str:
    """The one wording of what a Ray before token auth lacks (callers add what it means)."""
    return f"Ray {version} has no token authentication (it arrived in Ray {TOKEN_AUTH_SINCE})"


def _notes(caps: RayCapabilities) -> list[str]:
    """One sentence for each feature this Ray lacks: what degrades, and how."""
    notes = []
    if not caps.token_auth:
        notes.append(
            f"{no_token_auth(caps.version)}: Ray's ports run code for anyone who can reach "
            "them, so keep them on loopback or behind a firewall, or upgrade Ray and set "
            "RAY_AUTH_MODE=token."
        )
    if not caps.node_labels:
        notes.append(
            f"Ray {caps.version} reports no node labels: pools come from 'pool:<name>' "
            "custom resources only."
        )
    elif not caps.job_label_selector:
        notes.append(
            f"Ray {caps.version} cannot pin a job to nodes by label: jobs reach a pool "
            "through its 'pool:<name>' custom resource only."
        )
    return notes


def _has_param(fn: Any, name: str) -> bool:
    return name in inspect.signature(fn).parameters


@functools.cache
def capabilities() -> RayCapabilities:
    """What the installed Ray can do; detected on the first call, then cached for the process.

    Example:
        >>> caps = capabilities()  # doctest: +SKIP
        >>> caps.token_auth, caps.notes  # doctest: +SKIP
        (False, ['Ray 2.40.0 has no token authentication ...'])
    """
    import_ray()
    import ray
    import ray._raylet as raylet
    import ray.dashboard.modules.dashboard_sdk as dashboard_sdk
    from ray.autoscaler.v2 import schema
    from ray.core.generated import core_worker_pb2, gcs_pb2, gcs_service_pb2
    from ray.dashboard.modules.job.common import JobInfoStorageClient
    from ray.job_submission import JobSubmissionClient

    rpcs = ("RequestOwnerToCancelTask", "RemoteCancelTask")
    cancel = next((name for name in rpcs if hasattr(core_worker_pb2, f"{name}Request")), None)
    caps = RayCapabilities(
        version=str(ray.__version__),
        token_auth=hasattr(raylet, "AuthenticationTokenLoader"),
        node_labels="labels" in {f.name for f in dataclasses.fields(schema.NodeInfo)},
        job_label_selector=_has_param(JobSubmissionClient.submit_job, "entrypoint_label_selector"),
        job_auth_error=hasattr(dashboard_sdk, "AuthenticationError"),
        task_state_filters=hasattr(gcs_service_pb2, "FilterPredicate"),
        node_selectors=hasattr(gcs_service_pb2.GetAllNodeInfoRequest, "NodeSelector"),
        node_session_dir="session_dir" in gcs_pb2.GcsNodeInfo.DESCRIPTOR.fields_by_name,
        owner_cancel_rpc=cancel,
        job_storage_timeout=_has_param(JobInfoStorageClient.put_status, "timeout"),
        job_storage_aio=_has_param(JobInfoStorageClient.__init__, "gcs_aio_client"),
    )
    return caps.model_copy(update={"notes": _notes(caps)})
