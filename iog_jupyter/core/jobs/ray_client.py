"""Ray's job client on the loopback dashboard, its errors mapped to iog's; records from JobInfo."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from .. import _ray_compat
from ..connection import RayConnection
from ..errors import ConflictError, IogError, NotFoundError, RayUnavailableError
from ..wire import JobRecord
from .base import JOBS_HINT, OWNER_KEY, POOL_KEY, REQUEST_KEY
from .validation import redact_runtime_env

T = TypeVar("T")
_PATH_RE = re.compile(r"(/[^\s'\"]+)+")


def ray_words(text: str) -> str:
    """The last line of a Ray error (its message, not the traceback), without file paths."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return _PATH_RE.sub("…", lines[-1] if lines else "")[:300]


def job_record(info: Any, backend: str, submission_id: str | None = None) -> JobRecord:
    """A :class:`JobRecord` from Ray's ``JobInfo`` (the request kept in its metadata)."""
    metadata = dict(info.metadata or {})
    try:
        request = dict(json.loads(metadata.pop(REQUEST_KEY, "{}")))
    except (ValueError, TypeError):  # not JSON, or not an object
        request = {}
    pid = getattr(getattr(info, "driver_info", None), "pid", None)
    return JobRecord(
        submission_id=submission_id or info.submission_id,
        status=str(getattr(info.status, "value", info.status)),
        entrypoint=info.entrypoint,
        message=info.message,
        owner=metadata.get(OWNER_KEY),
        metadata=metadata,
        runtime_env=redact_runtime_env(info.runtime_env or {}),
        start_time_ms=info.start_time,
        end_time_ms=info.end_time,
        exit_code=info.driver_exit_code,
        driver_pid=int(pid) if pid and str(pid).isdigit() else None,
        pool=metadata.get(POOL_KEY),
        entrypoint_num_cpus=request.get("num_cpus"),
        entrypoint_num_gpus=request.get("num_gpus"),
        entrypoint_memory=request.get("memory"),
        entrypoint_resources=dict(request.get("resources") or {}),
        backend=backend,
    )


class RayJobClient:
    """One ``JobSubmissionClient``, made on first use and again after Ray stopped answering."""

    def __init__(self, conn: RayConnection) -> None:
        self.conn = conn

    @functools.cached_property
    def _client(self) -> Any:
        url = self.conn.dashboard_url
        try:
            return _ray_compat.job_client(url, self.conn.auth_headers())
        except (OSError, RuntimeError) as err:
            self.conn.reset()
            raise RayUnavailableError(
                f"Ray's job API at {url} did not answer ({type(err).__name__}); is the "
                "dashboard running with its job agent?"
            ) from None

    def reset(self) -> None:
        """Drop the client; the next call makes a new one."""
        self.__dict__.pop("_client", None)

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(client, ...)``, mapping Ray's errors to ours."""
        client = self._client
        try:
            return fn(client, *args, **kwargs)
        except _ray_compat.job_auth_errors():
            raise RayUnavailableError(
                "Ray's dashboard refused iog_jupyter's token; check that the Ray token "
                f"({self.conn.token_info.source}) is the cluster's."
            ) from None
        except OSError as err:  # requests' and the builtin connection errors
            self.reset()
            self.conn.reset()
            raise RayUnavailableError(
                f"Ray's job API did not answer ({type(err).__name__}); retry when Ray is back."
            ) from None
        except RuntimeError as err:
            text = str(err)
            if "status code 404" in text:
                raise NotFoundError(f"Ray has no job with this id. {JOBS_HINT}") from None
            if "already exists" in text:
                raise ConflictError("A job with this submission_id already exists.") from None
            if "No available agent" in text:
                raise RayUnavailableError(
                    "Ray's job agent on the head node is not running, so Ray cannot start "
                    "jobs; see dashboard_agent.log in the Ray session's logs (a port conflict "
                    "is the usual cause)."
                ) from None
            raise IogError(f"Ray's job API failed: {ray_words(text)}", "ray_error") from None
        except _ray_compat.gcs_errors() as err:  # Ray's RpcError or GetTimeoutError (the GCS)
            self.conn.reset()
            raise RayUnavailableError(
                f"Ray's GCS did not answer the job API ({type(err).__name__}); check "
                f"RAY_ADDRESS ({self.conn.address}) and retry when Ray is back."
            ) from None
