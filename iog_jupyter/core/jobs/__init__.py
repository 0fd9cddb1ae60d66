"""Ray jobs through iog_jupyter: one contract, two backends (Ray's job manager, local processes).

``JobBackend`` (base.py) is the contract; ``RayJobsBackend`` (ray_backend.py) drives Ray's job
manager through ``JobSubmissionClient`` on the loopback dashboard with the Ray token, and
``LocalProcessBackend`` (local_backend.py) runs entrypoints as process groups on the head node
for clusters whose operator switched the dashboard and Jobs API off. ``select_backend`` picks one;
``validate_submission`` checks a request before either sees it; ``PackageStore`` keeps uploads.
``JobService`` (service.py) is what every surface calls: one composition of all of that.
"""

from __future__ import annotations

from ..wire import TERMINAL_STATUSES, JobPage, JobRecord, LogPage
from .base import OWNER_KEY, POOL_KEY, JobBackend, JobSubmission
from .local_backend import LocalProcessBackend
from .packages import PackageStore
from .ray_backend import RayJobsBackend
from .selection import default_state_dir, select_backend
from .service import JobsAPI, JobService, LogFollower, follow_logs
from .validation import redact_runtime_env, validate_submission

__all__ = [
    "OWNER_KEY",
    "POOL_KEY",
    "TERMINAL_STATUSES",
    "JobBackend",
    "JobPage",
    "JobRecord",
    "JobService",
    "JobsAPI",
    "JobSubmission",
    "LocalProcessBackend",
    "LogFollower",
    "LogPage",
    "PackageStore",
    "RayJobsBackend",
    "default_state_dir",
    "follow_logs",
    "redact_runtime_env",
    "select_backend",
    "validate_submission",
]
