"""IogJupyterApp: the Jupyter Server extension, its traits, services and background tasks."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.extension.application import ExtensionApp

from .config import IogJupyterConfig
from .core import import_ray
from .core.actors.gcs import ReapedActor
from .core.actors.registry import ActorReaper, ActorRegistry
from .core.calls import Lanes
from .core.changes import ChangeFeed, actors_fingerprint, jobs_fingerprint, sessions_fingerprint
from .core.cluster import PoolConfig
from .core.connection import RayConnection
from .core.jobs.notebooks import NotebookJobs, NotebookStore, store_path
from .core.jobs.packages import PackageStore
from .core.jobs.selection import select_backend
from .core.jobs.service import JobService
from .core.monitor import ClusterMonitor
from .core.security.audit import AuditLog
from .core.security.doctor import JupyterFacts
from .core.security.quotas import QuotaLimits, Quotas
from .core.sessions.service import IdlePolicy, SessionService
from .core.usage import UsageAccountant, UsageStore
from .handlers import all_handlers
from .handlers.sessions import jupyter_kernels


class IogJupyterApp(IogJupyterConfig, ExtensionApp):
    """Ray cluster resources through the authenticated Jupyter server.

    Its traits (``c.IogJupyterApp.<name>``) are declared by area in :mod:`iog_jupyter.config`.

    The server process is never a Ray driver: it reaches Ray through the GCS client behind
    ``ray status`` and the loopback dashboard, with the Ray token kept server-side.
    """

    name = "iog_jupyter"
    load_other_extensions = True

    _jobs: JobService | None = None
    _notebook_jobs: NotebookJobs | None = None
    _notebook_collector: asyncio.Task[None] | None = None

    def initialize_settings(self) -> None:
        """Build the Ray connection, the shared executor and the cluster monitor."""
        # Ray calls are refused at once while the monitor (built below) knows Ray is down.
        self.calls = Lanes(
            self.executor_max_workers, self.request_timeout_s, lambda: self.monitor.ray_down()
        )
        self.connection = RayConnection(
            address=self.ray_address or None,
            dashboard_url=self.ray_dashboard_url or None,
            token_path=self.ray_token_path or None,
            connect_timeout_s=self.connect_timeout_s,
            request_timeout_s=self.request_timeout_s,
        )
        self.pool_config = PoolConfig(self.pool_label, self.pool_resource_prefix)
        self._jobs_lock = asyncio.Lock()  # binds to the event loop on first use
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
            info.address,
            info.address_source,
            info.auth_mode,
            info.token_source,
        )
        for note in info.capabilities.notes:
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
        self.notebook_store = NotebookStore(store_path(self.jobs_state_dir))

    def _init_actors(self) -> None:
        """Build the actor registry and its TTL reaper (started with the event loop)."""
        self.actor_registry = ActorRegistry(
            self.connection, self.protected_actor_namespaces, cache_names=True
        )
        self.actor_reaper = ActorReaper(
            self.actor_registry,
            self.actor_reap_interval_s,
            self.calls,
            self._audit_reaped,
            timeout_s=max(30.0, 3 * self.request_timeout_s),
        )

    def _init_sessions(self) -> None:
        """Build the session service and the usage accountant its samples feed."""
        policy = IdlePolicy(
            warn_after_s=self.idle_warn_after_s,
            release_after_s=self.idle_release_after_s,
            release_resources=tuple(self.idle_release_resources),
            keep_alive_max_s=self.idle_keep_alive_max_s,
            check_interval_s=self.idle_check_interval_s,
        )
        store = UsageStore(
            os.path.join(self.jobs_state_dir, "usage.sqlite"),
            self.usage_retention_days,
            self.usage_max_rows,
        )
        self.usage = UsageAccountant(
            store,
            self.usage_sample_interval_s,
            lambda: (
                {n.node_id: n.usage for n in self.monitor.snapshot.nodes if n.usage}
                if self.monitor.snapshot
                else {}
            ),
            lambda: self._jobs,
        )
        self.sessions = SessionService(
            self.connection,
            functools.partial(jupyter_kernels, self.serverapp),
            policy,
            self.calls,
            audit=self.audit_log,
            call_timeout_s=self.request_timeout_s,
            release_foreign=self.sessions_release_foreign,
            usage=self.usage,
        )

    def _init_changes(self) -> None:
        """Build the change feed behind ``WS events/subscribe`` (it polls only while watched)."""

        async def jobs() -> Any:
            service = await self.get_job_service()
            page = await self.calls.run(
                "jobs", service.list, None, 50, None, needs_ray=service.backend.name == "ray"
            )
            return jobs_fingerprint(page)

        async def sessions() -> Any:
            return sessions_fingerprint(await self.sessions.list())

        async def actors() -> Any:
            page = await self.calls.run(
                "actors", functools.partial(self.actor_registry.list, detached=True, limit=200)
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
        return self._jobs.backend.name if self._jobs is not None else None

    async def get_job_service(self) -> JobService:
        """The job service, on a backend chosen off the event loop on first use, then cached.

        Raises:
            RayUnavailableError: The backend could not be chosen (Ray forced but unreachable,
                or the probe ran past ``request_timeout_s``); the next call tries again.
        """
        if self._jobs is not None:
            return self._jobs
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
                backend = await self.calls.run("jobs", select, needs_ray=False)
                self._jobs = JobService(
                    backend,
                    self.working_dir_roots,
                    self.package_store,
                    self.quotas,
                    log_chunk_bytes=self.log_tail_chunk_bytes,
                    log_poll_s=self.log_tail_poll_interval_s,
                )
                self.log.info("iog_jupyter: jobs run on the %r backend", backend.name)
                self._remember_backend(backend.name)
        return self._jobs

    async def get_notebook_jobs(self) -> NotebookJobs:
        """Notebook jobs over :meth:`get_job_service`, rooted at the server's ``root_dir``.

        Starts the collector of their executed copies when the server start did not.
        """
        self._start_collector()
        if self._notebook_jobs is None:
            jobs = await self.get_job_service()
            if self._notebook_jobs is None:
                self._notebook_jobs = NotebookJobs(
                    jobs,
                    self.serverapp.root_dir,
                    self.jobs_state_dir,
                    self.connection,
                    self.notebook_output_max_bytes,
                    self.notebook_store,
                )
        return self._notebook_jobs

    def _start_collector(self) -> None:
        """Start :meth:`_collect_notebooks` once (at server start, or on first use)."""
        if self._notebook_collector is None:
            self._notebook_collector = asyncio.create_task(self._collect_notebooks())

    async def _collect_notebooks(self) -> None:
        """Write the executed copies of ended notebook jobs, at start-up and while any is due.

        The store is read first, so a server with no notebook job never chooses a backend here.
        """
        while True:
            try:
                if self.notebook_store.pending():
                    notebooks = await self.get_notebook_jobs()
                    await self.calls.run(
                        "jobs", notebooks.collect_ready, timeout_s=60.0, needs_ray=False
                    )
            except Exception:  # the loop must outlive a failed round; the next one retries
                self.log.exception("iog_jupyter: collecting notebook job copies failed")
            await asyncio.sleep(self.notebook_collect_interval_s)

    #: A sentence when jobs ran on another backend before this server started (else None).
    jobs_backend_change: str | None = None

    def _remember_backend(self, name: str) -> None:
        """Keep the chosen backend in the state dir; say so when it differs from the last one."""
        path = Path(self.jobs_state_dir, "jobs_backend")
        try:
            previous = path.read_text().strip()
        except OSError:
            previous = ""
        if previous and previous != name:
            self.jobs_backend_change = (
                f"Jobs ran on the {previous!r} backend before this server started and now run "
                f"on {name!r}; earlier jobs are listed by the {previous!r} backend only (set "
                f"IogJupyterApp.jobs_backend={previous!r} to see them)."
            )
            self.log.warning("iog_jupyter: %s", self.jobs_backend_change)
        try:
            path.write_text(name)
        except OSError:
            self.log.exception("iog_jupyter: could not record the jobs backend")

    def initialize_handlers(self) -> None:
        """Register the REST and websocket routes (``{base_url}iog/api/v1/``) and the dashboard."""
        self.handlers.extend(all_handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Import Ray off the loop, then start the cluster monitor, once the event loop runs.

        The objects that exist once Ray and Jupyter are imported (modules, classes: hundreds of
        thousands) live as long as the server; ``gc.freeze()`` takes them out of the cyclic
        collector's full passes, which otherwise stall the event loop for 100-200 ms each under
        load (benchmarks/load.py).
        """
        await self.calls.run("other", import_ray, needs_ray=False)
        gc.collect()
        gc.freeze()
        self.monitor.start()
        self.actor_reaper.start()
        self.sessions.start()
        self._start_collector()

    async def stop_extension(self) -> None:
        """Stop the background loops and release threads and connections; never raises."""
        stops = {
            "stopping the cluster monitor": lambda: asyncio.wait_for(self.monitor.stop(), 5.0),
            "stopping the actor reaper": self.actor_reaper.stop,
            "stopping the sessions loop": self.sessions.stop,
            "stopping the change feed": self.changes.stop,
        }
        if self._jobs is not None:
            stops["closing the jobs backend"] = self._jobs.close
        if self._notebook_collector is not None:
            self._notebook_collector.cancel()
        for what, stop in stops.items():
            try:
                await ensure_async(stop())
            except Exception:  # shutdown must go on whatever failed (a timeout included)
                self.log.exception("iog_jupyter: %s failed", what)
        self._jobs = None
        self._notebook_jobs = None
        self.notebook_store.close()
        self.calls.shutdown()
        self.usage.store.close()
        self.connection.close()
