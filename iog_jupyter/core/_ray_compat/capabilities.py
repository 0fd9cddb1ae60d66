"""What the installed Ray can do, detected once by looking for each feature (never by version).

The cluster owns its Ray: iog_jupyter runs on every Ray from 2.40 to the newest, so each feature
that differs between them is detected here, once per process, from the installed package itself.
Everything else in iog_jupyter asks :func:`capabilities` instead of catching ``ImportError`` or
``AttributeError`` at the call site. What an older Ray lacks degrades with a sentence
(:meth:`RayCapabilities.notes`), shown by ``GET status``, ``iog status`` and ``doctor``.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from dataclasses import dataclass
from typing import Any

_import_lock = threading.Lock()
_imported = False
_caps: RayCapabilities | None = None

#: The oldest Ray iog_jupyter supports.
MIN_RAY_VERSION = "2.40"
#: The first Ray with token authentication (``RAY_AUTH_MODE=token``).
TOKEN_AUTH_SINCE = "2.52"


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


@dataclass(frozen=True)
class RayCapabilities:
    """The features of the installed Ray that differ between Ray 2.40 and the newest.

    Attributes:
        version: ``ray.__version__``.
        token_auth: Ray has token authentication (``RAY_AUTH_MODE=token``, Ray ≥ 2.52). Without
            it Ray's ports run code for anyone who reaches them.
        node_labels: The GCS reports node labels, so pools can come from labels (else from
            ``pool:<name>`` custom resources only).
        job_label_selector: ``submit_job`` takes ``entrypoint_label_selector``, so a job can be
            pinned to a pool named by a label.
        job_auth_error: The job SDK raises its own ``AuthenticationError`` for a refused token.
        task_state_filters: The GCS filters task events by several state predicates at once.
        node_selectors: The GCS node table can be asked for the head node only.
        node_session_dir: The GCS node table carries each node's session dir (else it is read
            from Ray's KV store).
        owner_cancel_rpc: The core-worker RPC that asks a task's owner to cancel it
            (``RequestOwnerToCancelTask``; ``RemoteCancelTask`` before), or None.
        job_storage_timeout: Ray's job-table client takes a ``timeout``.
        job_storage_aio: Ray's job-table client wants an asyncio GCS client (``GcsAioClient``)
            rather than the plain one.
    """

    version: str
    token_auth: bool
    node_labels: bool
    job_label_selector: bool
    job_auth_error: bool
    task_state_filters: bool
    node_selectors: bool
    node_session_dir: bool
    owner_cancel_rpc: str | None
    job_storage_timeout: bool
    job_storage_aio: bool

    def notes(self) -> list[str]:
        """One sentence for each feature this Ray lacks: what degrades, and how."""
        notes = []
        if not self.token_auth:
            notes.append(
                f"Ray {self.version} has no token authentication (it arrived in Ray "
                f"{TOKEN_AUTH_SINCE}): Ray's ports run code for anyone who can reach them, so "
                "keep them on loopback or behind a firewall, or upgrade Ray and set "
                "RAY_AUTH_MODE=token."
            )
        if not self.node_labels:
            notes.append(
                f"Ray {self.version} reports no node labels: pools come from 'pool:<name>' "
                "custom resources only."
            )
        elif not self.job_label_selector:
            notes.append(
                f"Ray {self.version} cannot pin a job to nodes by label: jobs reach a pool "
                "through its 'pool:<name>' custom resource only."
            )
        return notes

    def to_dict(self) -> dict[str, Any]:
        """The wire form: every field, plus ``notes``."""
        return {**dataclasses.asdict(self), "notes": self.notes()}


def _has_param(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _detect() -> RayCapabilities:
    import_ray()
    import ray
    import ray._raylet as raylet
    import ray.dashboard.modules.dashboard_sdk as dashboard_sdk
    from ray.autoscaler.v2 import schema
    from ray.core.generated import core_worker_pb2, gcs_pb2, gcs_service_pb2
    from ray.dashboard.modules.job.common import JobInfoStorageClient
    from ray.job_submission import JobSubmissionClient

    cancel = next(
        (
            name
            for name in ("RequestOwnerToCancelTask", "RemoteCancelTask")
            if hasattr(core_worker_pb2, f"{name}Request")
        ),
        None,
    )
    return RayCapabilities(
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


def capabilities() -> RayCapabilities:
    """What the installed Ray can do; detected on the first call, then cached for the process.

    Example:
        >>> caps = capabilities()  # doctest: +SKIP
        >>> caps.token_auth, caps.notes()  # doctest: +SKIP
        (False, ['Ray 2.40.0 has no token authentication ...'])
    """
    global _caps
    if _caps is None:
        _caps = _detect()
    return _caps
