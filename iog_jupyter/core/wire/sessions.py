"""Session shapes: live Ray drivers, the idle policy's view of each, releases."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field, field_serializer

from .base import ResourceMap, WireModel, iso_field

#: Namespaces of Ray's own drivers (the dashboard's, the job manager's): hidden, never released.
INTERNAL_NAMESPACE_PREFIX = "_ray_internal"

PolicyState = Literal["off", "not_applicable", "active", "warned", "due", "released", "exempt"]


class SessionPolicyState(WireModel):
    """The idle policy's view of one session."""

    state: PolicyState = "off"
    idle_since_ms: int | None = None
    warn_at_ms: int | None = None
    release_at_ms: int | None = None
    keep_alive_until_ms: int | None = None
    message: str | None = Field(None, description="The warning, in words.")


class SessionRecord(WireModel):
    """One live Ray driver: whose it is, what it holds, how long it has been idle.

    ``session_id`` is the driver's Ray job id. ``kind`` is ``notebook``, ``job`` (a Ray job's
    entrypoint) or ``script``. ``resources`` sums what its live actors and running tasks hold.
    """

    session_id: str = Field(description="The driver's Ray job id.")
    kind: Literal["notebook", "job", "script"]
    driver_pid: int
    driver_ip: str
    namespace: str
    owner: str | None = Field(None, description="The user connect() recorded.")
    kernel_id: str | None = None
    notebook_path: str | None = None
    submission_id: str | None = Field(None, description="The Ray job's id, for kind ``job``.")
    job_name: str | None = Field(
        None,
        description="The job's name (its ``name`` or ``job_name`` metadata), for kind ``job``.",
    )
    attributed_by: list[Literal["metadata", "pid"]] = Field(default_factory=list)
    local_kernel: bool = Field(False, description="The driver is a kernel of this server.")
    execution_state: str | None = None
    last_activity_ms: int | None = None
    start_time_ms: int | None = None
    resources: ResourceMap = Field(
        default_factory=dict,
        description="Held by its live actors and running tasks (CPU, GPU, memory).",
    )
    actors: int = Field(0, description="Live non-detached actors.")
    detached_actors: int = 0
    running_tasks: int = 0
    idle_s: float | None = Field(None, description="Null for non-kernels of this server.")
    policy: SessionPolicyState = Field(default_factory=SessionPolicyState)

    @computed_field
    def job_id(self) -> str:
        """The Ray job id (the same as ``session_id``)."""
        return self.session_id

    @computed_field
    def label(self) -> str:
        """What to call it: the notebook's name, ``job <name> (<id>)``, or ``script (pid N)``."""
        if self.internal:
            return f"Ray's own driver ({self.namespace.removeprefix('_ray_internal_')})"
        if self.kind == "notebook":
            name = (self.notebook_path or "").rstrip("/").rpartition("/")[2]
            return name or f"notebook (kernel {(self.kernel_id or '?')[:8]})"
        if self.kind == "job" and self.submission_id and self.job_name:
            return f"job {self.job_name} ({self.submission_id})"
        if self.kind == "job" and self.submission_id:
            return f"job {self.submission_id}"
        return f"{self.kind} (pid {self.driver_pid})"

    @computed_field
    def internal(self) -> bool:
        """A driver of Ray's own (its namespace starts ``_ray_internal``): never released."""
        return self.namespace.startswith(INTERNAL_NAMESPACE_PREFIX)

    last_activity = iso_field("last_activity_ms", "``last_activity_ms`` as ISO-8601 UTC.")
    start_time = iso_field("start_time_ms", "``start_time_ms`` as ISO-8601 UTC.")

    @field_serializer("idle_s")
    def _round_idle(self, idle_s: float | None) -> float | None:
        return None if idle_s is None else round(idle_s, 1)


class IdlePolicy(WireModel, frozen=True):
    """The idle policy's settings (the ``IogJupyterApp.idle_*`` traits); 0 switches a step off."""

    warn_after_s: float = 0.0
    release_after_s: float = 0.0
    release_resources: tuple[str, ...] = ("GPU",)
    keep_alive_max_s: float = 24 * 3600.0
    check_interval_s: float = 30.0

    @computed_field
    def enabled(self) -> bool:
        """Whether the policy warns or releases at all."""
        return self.warn_after_s > 0 or self.release_after_s > 0

    @field_serializer("warn_after_s", "release_after_s")
    def _off_is_null(self, seconds: float) -> float | None:
        return seconds or None


class SessionListQuery(WireModel):
    """``GET sessions`` query."""

    internal: bool = Field(False, description="Also list Ray's own drivers (never released).")


class SessionList(WireModel):
    """``GET sessions``: every live driver and the policy that applies to them."""

    sessions: list[SessionRecord]
    policy: IdlePolicy | None = Field(description="Null where no server policy applies.")


class ReleaseResult(WireModel):
    """``POST sessions/{id}/release``: actors killed, tasks cancelled, detached actors kept."""

    session_id: str
    killed_actors: list[str] = Field(default_factory=list)
    cancelled_tasks: int = 0
    kept_detached_actors: int = 0
    kept_other_actors: int = 0
    errors: list[str] = Field(default_factory=list)
