"""Pipeline stages: each stage of a pipeline in its own Ray namespace, on its own pool of nodes.

A :class:`Stage` is a name, a Ray namespace and an optional pool (DESIGN §6). It turns the pool
into Ray placement options against the live cluster (a node label selector, or a sliver of the
pool's custom resource, the same mapping ``POST jobs`` uses for ``pool``), so that tasks, actors
and jobs of the stage run on the pool's nodes, and it keeps the stage's named actors in the
stage's namespace, apart from the other stages' (a ``train`` stage's ``"model"`` actor is not a
``serve`` stage's ``"model"``).

Example:
    >>> import iog_jupyter
    >>> prep = iog_jupyter.stage("preprocess", pool="cpu")
    >>> train = iog_jupyter.stage("train", pool="gpu-a100")
    >>> shards = ray.get([prep.remote(clean).remote(path) for path in paths])
    >>> trainer = train.actor(Trainer, "trainer")     # named, in namespace "stage-train"
    >>> train.submit_job("python eval.py", num_gpus=1)       # a job on the same pool
    >>> train.run_job("python eval.py")        # the same, printing its log until it ends

A job submitted by a stage gets ``IOG_STAGE``, ``IOG_STAGE_NAMESPACE`` and ``IOG_STAGE_POOL`` in
its environment; ``Stage.from_env()`` inside the job's driver gives the same stage back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import _ray_compat
from .cluster import PoolConfig, get_cluster_snapshot
from .connection import RayConnection
from .errors import ValidationError
from .jobs.base import JobBackend
from .jobs.placement import pool_placement
from .jobs.service import JobsAPI, JobService, follow_logs
from .wire import SUBMISSION_ID_RE, JobRecord, LogPage
from .wire.base import SUBMISSION_ID_RULE

_NAME_RE = SUBMISSION_ID_RE
#: Namespaces a stage may not use: Ray's own and iog's.
RESERVED_NAMESPACES = frozenset({"SUPERVISOR_ACTOR_RAY_NAMESPACE", "serve", "iog_jupyter"})
ENV_STAGE = "IOG_STAGE"
ENV_NAMESPACE = "IOG_STAGE_NAMESPACE"
ENV_POOL = "IOG_STAGE_POOL"


def _check_name(what: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValidationError(f"{what} {value!r} must be {SUBMISSION_ID_RULE}.")
    return value


@dataclass
class Stage:
    """One stage of a pipeline: a name, a Ray namespace and optionally a pool of nodes.

    Attributes:
        name: The stage's name (``"train"``).
        namespace: The Ray namespace its named actors live in (default: ``stage-<name>``, which
            no Ray library uses: a stage named ``serve`` stays apart from Ray Serve's namespace).
        pool: The pool its work runs on; None runs it anywhere.
        pool_config: How pools are named (a node label or ``pool:<name>`` resources).
    """

    name: str
    namespace: str = ""
    pool: str | None = None
    pool_config: PoolConfig = field(default_factory=PoolConfig)
    _placement: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the names (a bad one is refused before anything reaches Ray)."""
        _check_name("Stage name", self.name)
        self.namespace = _check_name("Namespace", self.namespace or f"stage-{self.name}")
        if self.namespace in RESERVED_NAMESPACES or self.namespace.startswith("_ray"):
            raise ValidationError(f"Namespace {self.namespace!r} is Ray's or iog's; pick another.")
        if self.pool is not None:
            _check_name("Pool", self.pool)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Stage:
        """The stage a job was submitted by (its ``IOG_STAGE*`` environment variables).

        Raises:
            ValidationError: This process was not started by a stage.
        """
        env = os.environ if environ is None else environ
        if ENV_STAGE not in env:
            raise ValidationError(
                f"{ENV_STAGE} is not set: this process was not started by Stage.submit_job()."
            )
        return cls(env[ENV_STAGE], env.get(ENV_NAMESPACE, ""), env.get(ENV_POOL) or None)

    # -- placement --------------------------------------------------------------------------

    def placement(self, conn: RayConnection | None = None) -> dict[str, Any]:
        """Ray ``.options()`` that pin work to the stage's pool, looked up once and cached.

        Returns:
            ``{}`` without a pool; ``{"label_selector": {...}}`` for a labelled pool; else
            ``{"resources": {"pool:<name>": 0.001}}``.

        Raises:
            ValidationError: No live node is in the pool (the message names the pools there are).
        """
        if self.pool is None:
            return {}
        if self._placement is None:
            own = conn is None
            conn = conn or RayConnection()
            try:
                snapshot = get_cluster_snapshot(conn, self.pool_config, include_usage=False)
            finally:
                if own:
                    conn.close()
            by_label = _ray_compat.capabilities().job_label_selector
            self._placement = pool_placement(snapshot, self.pool_config, self.pool, by_label)
        if "entrypoint_label_selector" in self._placement:
            return {"label_selector": dict(self._placement["entrypoint_label_selector"])}
        return {"resources": dict(self._placement["entrypoint_resources"])}

    def options(self, **options: Any) -> dict[str, Any]:
        """The stage's placement merged with a task's or actor's own options.

        A ``resources`` option is merged with the pool's resource, not replaced by it.
        """
        merged = dict(options)
        for key, value in self.placement().items():
            if key == "resources":
                merged["resources"] = {**value, **(options.get("resources") or {})}
            elif key not in merged:
                merged[key] = value
        return merged

    # -- tasks and actors -------------------------------------------------------------------

    def remote(self, fn_or_class: Any, **options: Any) -> Any:
        """``fn_or_class`` (plain or ``@ray.remote``) with ``.options()`` placing it on the pool.

        Call ``.remote(...)`` on what it returns; ``options`` are more ``.options()``.
        """
        import ray

        remote = fn_or_class if hasattr(fn_or_class, "options") else ray.remote(fn_or_class)
        return remote.options(**self.options(**options))

    def actor(self, cls: Any, name: str, *args: Any, detached: bool = False, **options: Any) -> Any:
        """Get or create the named actor ``name`` of this stage, in its namespace and pool.

        Two kernels asking at once get the same actor (Ray's ``get_if_exists``); ``args`` are
        used only when it is created. ``detached`` keeps it after this driver exits.
        """
        _check_name("Actor name", name)
        lifetime = {"lifetime": "detached"} if detached else {}
        chosen = {"name": name, "namespace": self.namespace, "get_if_exists": True, **lifetime}
        return self.remote(cls, **chosen, **options).remote(*args)

    def get_actor(self, name: str) -> Any:
        """The stage's live named actor ``name``.

        Raises:
            ValidationError: No live actor of this stage has the name.
        """
        import ray

        try:
            return ray.get_actor(name, namespace=self.namespace)
        except ValueError:
            raise ValidationError(
                f"Stage {self.name!r} has no live actor named {name!r}."
            ) from None

    # -- jobs -------------------------------------------------------------------------------

    def job_request(self, entrypoint: str, **fields: Any) -> dict[str, Any]:
        """A ``POST jobs`` body that runs ``entrypoint`` as this stage (pool, env, metadata).

        ``fields`` are more body fields (``entrypoint_num_gpus``, ``runtime_env``, ...).
        """
        body = {**fields, "entrypoint": entrypoint}
        runtime_env = body.get("runtime_env") or {}
        env_vars = {**(runtime_env.get("env_vars") or {}), ENV_STAGE: self.name}
        env_vars[ENV_NAMESPACE] = self.namespace
        if self.pool is not None:
            body.setdefault("pool", self.pool)
            env_vars[ENV_POOL] = self.pool
        body["runtime_env"] = {**runtime_env, "env_vars": env_vars}
        body["metadata"] = {"stage": self.name, **(body.get("metadata") or {})}
        return body

    @contextmanager
    def _jobs(self, backend: JobBackend | JobsAPI | None, owner: str | None) -> Iterator[JobsAPI]:
        """The jobs API to submit with: ``backend`` as it is, or a service on it (or a new one)."""
        if backend is not None and not isinstance(backend, JobBackend):
            yield backend
            return
        fields = {
            "owner": owner,
            "working_dir_roots": [os.getcwd()],
        }
        if backend is not None:
            yield JobService(backend, **fields)
            return
        service = JobService.open(conn=RayConnection(), pool_config=self.pool_config, **fields)
        try:
            yield service
        finally:
            service.close()

    def submit_job(
        self,
        entrypoint: str,
        backend: JobBackend | JobsAPI | None = None,
        owner: str | None = None,
        **fields: Any,
    ) -> str:
        """Validate and submit a job of this stage; returns its id.

        Args:
            entrypoint: The shell command.
            backend: A jobs backend, or a ``JobsAPI`` (a ``JobService``, or ``IogClient.jobs``
                to submit through a Jupyter server); by default the one ``iog jobs`` would
                choose here.
            owner: Recorded as the job's owner (default: this OS user; a server sets its own).
            **fields: More submission fields, as ``POST jobs`` takes them.
        """
        with self._jobs(backend, owner) as api:
            return api.submit(self.job_request(entrypoint, **fields))

    def run_job(
        self,
        entrypoint: str,
        backend: JobBackend | JobsAPI | None = None,
        owner: str | None = None,
        on_page: Callable[[LogPage], Any] | None = None,
        **fields: Any,
    ) -> JobRecord:
        """Submit a job of this stage as :meth:`submit_job` does, and print its log until it ends.

        Each page of the log goes to ``on_page`` when given. Returns the job's final record;
        interrupting (Ctrl-C, a kernel interrupt) stops the job.
        """
        show = on_page or (lambda page: print(page.text, end="", flush=True))
        with self._jobs(backend, owner) as api:
            sid = api.submit(self.job_request(entrypoint, **fields))
            record = follow_logs(api, sid, 0, show, stop_job_on_interrupt=True)
        assert record is not None
        return record


def stage(name: str, pool: str | None = None, namespace: str | None = None, **config: Any) -> Stage:
    """A pipeline :class:`Stage` (see module doc).

    ``pool`` is a node label value or a ``pool:<name>`` resource; ``namespace`` defaults to
    ``stage-<name>``; ``config`` takes ``PoolConfig`` fields for unusual clusters.
    """
    return Stage(name, namespace or "", pool, PoolConfig(**config) if config else PoolConfig())
