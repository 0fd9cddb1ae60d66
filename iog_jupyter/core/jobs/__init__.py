"""Ray jobs through iog_jupyter: one contract, two backends (Ray's job manager, local processes).

``JobBackend`` (base.py) is the contract; ``RayJobsBackend`` (ray_backend.py) drives Ray's job
manager through ``JobSubmissionClient`` on the loopback dashboard with the Ray token, and
``LocalProcessBackend`` (local_backend.py) runs entrypoints as process groups on the head node
for clusters whose operator switched the dashboard and Jobs API off. ``select_backend`` picks one;
``validate_submission`` checks a request before either sees it; ``PackageStore`` keeps uploads.
``JobService`` (service.py) is what every surface calls: one composition of all of that.
"""

from __future__ import annotations

from .base import OWNER_KEY, POOL_KEY, JobBackend, JobSubmission
from .local_backend import LocalProcessBackend
from .packages import PackageStore
from .ray_backend import RayJobsBackend
from .selection import select_backend
from .service import JobService, follow_logs
from .validation import validate_submission

__all__ = [
    "OWNER_KEY",
    "POOL_KEY",
    "JobBackend",
    "JobService",
    "JobSubmission",
    "LocalProcessBackend",
    "PackageStore",
    "RayJobsBackend",
    "follow_logs",
    "select_backend",
    "validate_submission",
]
