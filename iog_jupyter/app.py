"""IogJupyterApp: the Jupyter Server extension, its traits, services and background tasks."""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, List, Unicode, default, validate

from .core import _ray_compat
from .core.actor_meta import DEFAULT_PROTECTED_NAMESPACES
from .core.actor_registry import ReapedActor
from .core.actor_service import ActorReaper, ActorRegistry
from .core.audit import AuditLog
from .core.changes import ChangeFeed, actors_fingerprint, jobs_fingerprint, sessions_fingerprint
from .core.cluster import PoolConfig
from .core.connection import RayConnection
from .core.doctor import JupyterFacts
from .core.errors import RayUnavailableError
from .core.jobs.packages import PackageStore
from .core.jobs.selection import select_backend
from .core.monitor import ClusterMonitor
from .core.quotas import QuotaLimits, Quotas
from .core.session_policy import IdlePolicy, SessionService
from .handlers import all_handlers
from .handlers.base import run_on_executor
from .handlers.sessions import jupyter_kernels

if TYPE_CHECKING:
    from .core.jobs.base import JobBackend

MIB = 1024 * 1024


class IogJupyterApp(ExtensionApp):
    """Ray cluster resources through the authenticated Jupyter server.

    The server process is never a Ray driver: it reaches Ray through the GCS client behind
    ``ray status`` and the loopback dashboard, with the Ray token kept server-side.
    """

    name = "iog_jupyter"
    load_other_extensions = True

    _jobs: JobBackend | None = None
    _jobs_lock: asyncio.Lock | None = None

    ray_address = Unicode(
        "",
        config=True,
        help=(
            "GCS address of the Ray head (host:port). Empty: RAY_ADDRESS, then the address of "
            "the newest local `ray start` (/tmp/ray/ray_current_cluster), then 127.0.0.1:6379."
        ),
    )
    ray_dashboard_url = Unicode(
        "",
        config=True,
        help="URL of Ray's dashboard. Empty: read from the GCS (what `ray job` does).",
    )
    ray_token_path = Unicode(
        "",
        config=True,
        help=(
            "File holding the Ray auth token. Empty: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, then "
            "~/.ray/auth_token. The token never leaves the server."
        ),
    )
    dashboard_grant_ttl_s = Float(
        3600.0,
        config=True,
        help=(
            "Seconds a dashboard view grant (the sandboxed dashboard page's read-only "
            "capability URL) stays valid; reopening the dashboard mints a new one."
        ),
    )
    refresh_interval_s = Float(
        2.0,
        config=True,
        help="Seconds between two polls of the cluster by the one shared monitor.",
    )
    history_length = Int(
        1800,
        config=True,
        help="How many polls the cluster history ring buffer keeps (1800 x 2 s = 1 hour).",
    )
    max_backoff_s = Float(
        30.0,
        config=True,
        help="Longest wait between polls while Ray is unreachable (exponential backoff).",
    )
    request_timeout_s = Float(
        10.0,
        config=True,
        help="Deadline for one call to Ray; past it the request answers 503.",
    )
    submit_timeout_s = Float(
        60.0,
        config=True,
        help=(
            "Deadline for a job submission, which waits on Ray's job agent (the first job on a "
            "fresh head can take longer than request_timeout_s)."
        ),
    )
    connect_timeout_s = Float(
        1.0,
        config=True,
        help="Deadline for the TCP probe of the GCS port made before each Ray call.",
    )
    pool_label = Unicode(
        "ray.io/node-group",
        config=True,
        help="Node label whose value names a node's pool (KubeRay sets ray.io/node-group).",
    )
    pool_resource_prefix = Unicode(
        "pool:",
        config=True,
        help='Custom resources named <prefix><pool> also name a pool ({"pool:train": 1}).',
    )
    include_node_usage = Bool(
        True,
        config=True,
        help="Add per-node CPU %, memory and GPU usage from Ray's dashboard to each snapshot.",
    )
    usage_refresh_interval_s = Float(
        5.0,
        config=True,
        help=(
            "Seconds between two fetches of per-node usage from the dashboard, on a thread of "
            "its own (its reply grows with the number of workers); snapshots merge the latest."
        ),
    )
    executor_max_workers = Int(
        4,
        config=True,
        help="Threads for blocking Ray calls made by requests (never on the event loop).",
    )

    jobs_backend = Enum(
        ["auto", "ray", "local"],
        "auto",
        config=True,
        help=(
            "Which jobs backend runs jobs: 'ray' (Ray's job manager on the loopback dashboard, "
            "with the Ray token), 'local' (process groups on this head node, records in SQLite) "
            "or 'auto' (Ray's when its job API answers, else local). Chosen on first use."
        ),
    )
    jobs_state_dir = Unicode(
        config=True,
        help=(
            "Directory for local job records and logs (jobs/), uploaded packages (packages/) "
            "and the audit log. Default: <jupyter data dir>/iog_jupyter."
        ),
    )
    jobs_working_dir_roots = List(
        Unicode(),
        config=True,
        help=(
            "Directories under which a job's runtime_env.working_dir may name an existing "
            "directory on this machine. Empty: the Jupyter server's root_dir."
        ),
    )
    jobs_stop_grace_s = Float(
        10.0,
        config=True,
        help="Seconds the local jobs backend waits between TERM and KILL when stopping a job.",
    )
    audit_log_path = Unicode(
        config=True,
        help=(
            "JSON-lines audit log (mode 0600) of every job submit, stop, delete and package "
            "upload, allowed or refused. Default: <jobs_state_dir>/audit.log."
        ),
    )
    job_list_max_limit = Int(
        200,
        config=True,
        help="Largest page size `GET jobs?limit=` accepts (the default page is 50 jobs).",
    )
    max_request_body_bytes = Int(
        1 * MIB,
        config=True,
        help="Largest JSON request body (job submit); larger bodies answer 413 unread.",
    )
    package_max_bytes = Int(
        100 * MIB,
        config=True,
        help="Largest working_dir zip `POST packages` accepts; larger uploads answer 413.",
    )
    package_max_entries = Int(
        10000,
        config=True,
        help="Most files and directories an uploaded working_dir zip may hold.",
    )
    package_max_expanded_bytes = Int(
        1024 * MIB,
        config=True,
        help="Largest total uncompressed size of an uploaded zip (refuses zip bombs).",
    )
    log_page_max_bytes = Int(
        1 * MIB,
        config=True,
        help="Largest `limit_bytes` a `GET jobs/{id}/logs` page accepts.",
    )
    log_tail_chunk_bytes = Int(
        64 * 1024,
        config=True,
        help=(
            "Most log bytes a websocket tail reads ahead of what its client has received; "
            "a stalled client stalls only its own tail."
        ),
    )
    log_tail_poll_interval_s = Float(
        0.05,
        config=True,
        help=(
            "Seconds between two checks of a job's log file for new bytes while tailing "
            "(a printed line reaches the websocket within about this long)."
        ),
    )
    max_active_jobs_per_user = Int(
        0,
        config=True,
        help="Jobs one user may have PENDING or RUNNING at once; more submissions answer 429. "
        "0: no limit.",
    )
    max_submits_per_minute = Int(
        0,
        config=True,
        help="Job submissions one user may make in any 60 s; more answer 429. 0: no limit.",
    )
    allow_insecure = Bool(
        False,
        config=True,
        help="Let iog's mutating endpoints work even when the Jupyter server runs with "
        "authentication or XSRF checks disabled, or allow_origin='*' (they refuse with 403 "
        "otherwise).",
    )
    log_tail_max_clients_per_user = Int(
        32,
        config=True,
        help="Most log-tail websockets one user may hold open at once; more answer 429.",
    )
    actor_reap_interval_s = Float(
        30.0,
        config=True,
        help=(
            "Seconds between two passes of the detached-actor reaper, which kills actors whose "
            "TTL ran out (audited) and drops records of actors that are gone. 0 turns it off."
        ),
    )
    protected_actor_namespaces = List(
        Unicode(),
        list(DEFAULT_PROTECTED_NAMESPACES),
        config=True,
        help=(
            "Namespaces whose actors `GET actors` hides (unless asked by name) and that "
            "`DELETE actors/...` and the reaper never kill, on top of Ray's job supervisors, "
            "iog_jupyter's own namespace and names starting with _ray_internal."
        ),
    )

    idle_warn_after_s = Float(
        0.0,
        config=True,
        help=(
            "Seconds a notebook session (a kernel of this server that is a Ray driver) may sit "
            "idle while holding idle_release_resources before GET sessions and the "
            "SessionsWidget warn about it (audited once). 0: no warning."
        ),
    )
    idle_release_after_s = Float(
        0.0,
        config=True,
        help=(
            "Seconds idle after which the idle policy kills the session's non-detached actors "
            "and cancels its tasks that hold idle_release_resources; detached actors and other "
            "sessions are never touched, and keep_alive() exempts a session. Audited. 0: never."
        ),
    )
    idle_release_resources = List(
        Unicode(),
        ["GPU"],
        config=True,
        help="Resources whose holders the idle policy warns about and releases.",
    )
    idle_check_interval_s = Float(
        30.0,
        config=True,
        help=(
            "Seconds between two passes of the idle policy, which runs only when "
            "idle_warn_after_s or idle_release_after_s is set."
        ),
    )
    idle_keep_alive_max_s = Float(
        24 * 3600.0,
        config=True,
        help=(
            "Longest exemption from iog_jupyter.keep_alive() the idle policy honours, counted "
            "from when it was set."
        ),
    )
    sessions_release_foreign = Bool(
        False,
        config=True,
        help=(
            "Let POST sessions/{session_id}/release release Ray drivers that are not kernels "
            "of this Jupyter server (other users' notebooks, scripts, jobs). Off: 403."
        ),
    )

    @default("jobs_state_dir")
    def _default_jobs_state_dir(self) -> str:
        return os.path.join(jupyter_data_dir(), "iog_jupyter")

    @default("audit_log_path")
    def _default_audit_log_path(self) -> str:
        return os.path.join(self.jobs_state_dir, "audit.log")

    @validate("log_tail_poll_interval_s")
    def _check_poll_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not 0.01 <= value <= 5.0:
            raise ValueError("log_tail_poll_interval_s must be between 0.01 and 5 s")
        return value

    @validate(
        "job_list_max_limit",
        "max_request_body_bytes",
        "package_max_bytes",
        "package_max_entries",
        "package_max_expanded_bytes",
        "log_page_max_bytes",
        "log_tail_chunk_bytes",
        "log_tail_max_clients_per_user",
    )
    def _check_positive_size(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1")
        return value

    @validate("actor_reap_interval_s")
    def _check_reap_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value != 0 and value < 0.1:
            raise ValueError("actor_reap_interval_s must be 0 (off) or at least 0.1 s")
        return value

    @validate("idle_warn_after_s", "idle_release_after_s", "idle_keep_alive_max_s")
    def _check_idle_seconds(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value < 0:
            raise ValueError(f"{proposal['trait'].name} must be 0 (off) or positive")
        return value

    @validate("refresh_interval_s", "usage_refresh_interval_s", "idle_check_interval_s")
    def _check_refresh_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value < 0.1:
            raise ValueError(f"{proposal['trait'].name} must be at least 0.1 s")
        return value

    @validate("history_length", "executor_max_workers")
    def _check_positive(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1")
        return value

    def initialize_settings(self) -> None:
        """Build the Ray connection, the shared executor and the cluster monitor."""
        self.executor = ThreadPoolExecutor(
            self.executor_max_workers, thread_name_prefix="iog-request"
        )
        self.connection = RayConnection(
            address=self.ray_address or None,
            dashboard_url=self.ray_dashboard_url or None,
            token_path=self.ray_token_path or None,
            connect_timeout_s=self.connect_timeout_s,
            request_timeout_s=self.request_timeout_s,
        )
        self.pool_config = PoolConfig(self.pool_label, self.pool_resource_prefix)
        self._jobs = None
        self._jobs_lock = None
        self._init_jobs()
        self._init_actors()
        self._init_sessions()
        self._init_changes()
        # Signs dashboard view grants; new on every start, so a restart ends every grant.
        self.dashboard_grant_secret = os.urandom(32)
        self.monitor = ClusterMonitor(
            self.connection,
            refresh_interval_s=self.refresh_interval_s,
            history_length=self.history_length,
            max_backoff_s=self.max_backoff_s,
            call_timeout_s=self.request_timeout_s,
            pool_config=self.pool_config,
            include_usage=self.include_node_usage,
            usage_refresh_interval_s=self.usage_refresh_interval_s,
        )
        info = self.connection.describe()
        self.log.info(
            "iog_jupyter: Ray at %s (from %s), auth %s, token from %s",
            info["address"],
            info["address_source"],
            info["auth_mode"],
            info["token_source"],
        )
        for note in info["capabilities"]["notes"]:
            self.log.warning("iog_jupyter: %s", note)
        self.insecure_reasons = JupyterFacts.from_serverapp(self.serverapp).insecure_reasons()
        if self.insecure_reasons:
            self.log.warning(
                "iog_jupyter: %s; iog's mutating endpoints refuse (403) unless "
                "IogJupyterApp.allow_insecure=True%s.",
                ", ".join(self.insecure_reasons),
                " (it is)" if self.allow_insecure else "",
            )
        if self.connection.token_info.world_readable:
            self.log.warning(
                "iog_jupyter: the Ray token file %s is readable by other users; "
                "run `chmod 600 %s`.",
                self.connection.token_info.path,
                self.connection.token_info.path,
            )

    def _init_jobs(self) -> None:
        """Build what jobs need without touching Ray (the backend is chosen on first use)."""
        self.quotas = Quotas(
            QuotaLimits(self.max_active_jobs_per_user, self.max_submits_per_minute)
        )
        os.makedirs(self.jobs_state_dir, mode=0o700, exist_ok=True)
        self.audit_log = AuditLog(self.audit_log_path)
        self.package_store = PackageStore(os.path.join(self.jobs_state_dir, "packages"))
        self.working_dir_roots: list[str] = list(self.jobs_working_dir_roots) or [
            os.path.abspath(os.path.expanduser(self.serverapp.root_dir))
        ]

    def _init_actors(self) -> None:
        """Build the actor registry and its TTL reaper (started with the event loop)."""
        self.actor_registry = ActorRegistry(self.connection, self.protected_actor_namespaces)
        self.actor_reaper = ActorReaper(
            self.actor_registry,
            self.actor_reap_interval_s,
            self.executor,
            self._audit_reaped,
            timeout_s=max(30.0, 3 * self.request_timeout_s),
        )

    def _init_sessions(self) -> None:
        """Build the session service; its idle loop starts with the event loop when configured."""

        async def kernels() -> Any:
            return await jupyter_kernels(self.serverapp)

        policy = IdlePolicy(
            warn_after_s=self.idle_warn_after_s,
            release_after_s=self.idle_release_after_s,
            release_resources=tuple(self.idle_release_resources),
            keep_alive_max_s=self.idle_keep_alive_max_s,
            check_interval_s=self.idle_check_interval_s,
        )
        self.sessions = SessionService(
            self.connection,
            kernels,
            policy,
            self.executor,
            audit=self.audit_log,
            call_timeout_s=self.request_timeout_s,
            release_foreign=self.sessions_release_foreign,
        )

    def _init_changes(self) -> None:
        """Build the change feed behind ``WS events/subscribe`` (it polls only while watched)."""

        async def jobs() -> Any:
            backend = await self.get_jobs_backend()
            page = await run_on_executor(self, backend.list, None, 50, None)
            return jobs_fingerprint(page)

        async def sessions() -> Any:
            return sessions_fingerprint(await self.sessions.list())

        async def actors() -> Any:
            page = await run_on_executor(
                self, functools.partial(self.actor_registry.list, detached=True, limit=200)
            )
            return actors_fingerprint(page)

        self.changes = ChangeFeed(
            {"jobs": jobs, "sessions": sessions, "actors": actors}, self.refresh_interval_s
        )

    def _audit_reaped(self, reaped: list[ReapedActor]) -> None:
        """One audit record per actor the reaper killed; dropped stale records are logged."""
        for item in reaped:
            target = f"{item.namespace}/{item.name}"
            if item.reason != "expired":
                self.log.info("iog_jupyter: dropped the record of gone actor %s", target)
                continue
            try:
                self.audit_log.record(
                    "actor.reap",
                    target,
                    "allowed",
                    "iog_jupyter (reaper)",
                    None,
                    detail=f"TTL {item.ttl_s or 0:g} s expired; owner {item.owner or 'unknown'}",
                )
            except OSError:
                self.log.exception("iog_jupyter: could not write the audit log")

    @property
    def jobs_backend_name(self) -> str | None:
        """``"ray"`` or ``"local"`` once a backend was chosen, else None."""
        return self._jobs.name if self._jobs is not None else None

    async def get_jobs_backend(self) -> JobBackend:
        """The jobs backend, chosen off the event loop on first use and then cached.

        Raises:
            RayUnavailableError: The backend could not be chosen (Ray forced but unreachable,
                or the probe ran past ``request_timeout_s``); the next call tries again.
        """
        if self._jobs is not None:
            return self._jobs
        if self._jobs_lock is None:
            self._jobs_lock = asyncio.Lock()
        async with self._jobs_lock:
            if self._jobs is None:
                select = functools.partial(
                    select_backend,
                    self.connection,
                    preferred=self.jobs_backend,
                    state_dir=os.path.join(self.jobs_state_dir, "jobs"),
                    stop_grace_s=self.jobs_stop_grace_s,
                    pool_config=self.pool_config,
                    snapshot_source=lambda: self.monitor.snapshot if self.monitor else None,
                )
                future = asyncio.get_running_loop().run_in_executor(self.executor, select)
                try:
                    backend = await asyncio.wait_for(future, timeout=self.request_timeout_s)
                except asyncio.TimeoutError:
                    raise RayUnavailableError(
                        f"Choosing a jobs backend took longer than {self.request_timeout_s:g} s."
                    ) from None
                self._jobs = backend
                self.log.info("iog_jupyter: jobs run on the %r backend", backend.name)
        return self._jobs

    def initialize_handlers(self) -> None:
        """Register the REST and websocket routes (``{base_url}iog/api/v1/``) and the dashboard."""
        self.handlers.extend(all_handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Import Ray off the loop, then start the cluster monitor, once the event loop runs."""
        await asyncio.get_running_loop().run_in_executor(self.executor, _ray_compat.import_ray)
        self.monitor.start()
        self.actor_reaper.start()
        self.sessions.start()

    async def stop_extension(self) -> None:
        """Stop the monitor and release threads and connections; never raises."""
        try:
            await asyncio.wait_for(self.monitor.stop(), timeout=5.0)
        except Exception:  # shutdown must go on whatever failed (a timeout included)
            self.log.exception("iog_jupyter: stopping the cluster monitor failed")
        if self._jobs is not None:
            try:
                self._jobs.close()
            except Exception:  # shutdown must go on whatever failed
                self.log.exception("iog_jupyter: closing the jobs backend failed")
            self._jobs = None
        try:
            await self.actor_reaper.stop()
        except Exception:  # shutdown must go on whatever failed
            self.log.exception("iog_jupyter: stopping the actor reaper failed")
        try:
            await self.sessions.stop()
        except Exception:  # shutdown must go on whatever failed
            self.log.exception("iog_jupyter: stopping the idle policy failed")
        try:
            await self.changes.stop()
        except Exception:  # shutdown must go on whatever failed
            self.log.exception("iog_jupyter: stopping the change feed failed")
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.connection.close()
