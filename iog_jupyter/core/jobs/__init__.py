"""Ray jobs through iog_jupyter: one contract, two backends (Ray's job manager, local processes).

``JobBackend`` (base.py) is the contract; ``RayJobsBackend`` (ray_backend.py) drives Ray's job
manager through ``JobSubmissionClient`` on the loopback dashboard with the Ray token, and
``LocalProcessBackend`` (local_backend.py) runs entrypoints as process groups on the head node
for clusters whose operator switched the dashboard and Jobs API off. ``select_backend`` picks one;
``validate_submission`` checks a request before either sees it; ``PackageStore`` keeps uploads.
``JobService`` (service.py) is what every surface calls: one composition of all of that.
"""

from __future__ import annotations

from ..wire import TERMINAL_STATUSES as TERMINAL_STATUSES
from ..wire import JobPage as JobPage
from ..wire import JobRecord as JobRecord
from ..wire import LogPage as LogPage
from .base import OWNER_KEY as OWNER_KEY
from .base import POOL_KEY as POOL_KEY
from .base import JobBackend as JobBackend
from .base import JobSubmission as JobSubmission
from .local_backend import LocalProcessBackend as LocalProcessBackend
from .packages import PackageStore as PackageStore
from .ray_backend import RayJobsBackend as RayJobsBackend
from .selection import default_state_dir as default_state_dir
from .selection import select_backend as select_backend
from .service import JobsAPI as JobsAPI
from .service import JobService as JobService
from .service import LogFollower as LogFollower
from .service import follow_logs as follow_logs
from .validation import redact_runtime_env as redact_runtime_env
from .validation import validate_submission as validate_submission
