"""Usage shapes: who held the GPUs (and CPUs, memory), for how long, and whether they used them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from .base import WireModel, fmt_seconds, iso_field

#: What ``GET usage`` rows are keyed by.
UsageGroup = Literal["user", "session", "job"]
USAGE_GROUPS: tuple[str, ...] = UsageGroup.__args__  # type: ignore[attr-defined]


class UsageQuery(WireModel):
    """Query of ``GET usage``."""

    since: str | None = Field(
        None,
        description=(
            "Start of the window: ISO-8601, epoch milliseconds, or a duration back from now "
            "(30m, 24h, 7d). Default: 24 h ago."
        ),
    )
    until: str | None = Field(None, description="End of the window, as since. Default: now.")
    group_by: UsageGroup = Field("session", description="One row per user, session or job.")


class UsageRow(WireModel):
    """What one user, session or job held in the window, integrated over the samples."""

    key: str = Field(
        description=(
            "The user name, session id (Ray job id), submission id, job:<submission id> (an "
            "entrypoint without a driver) or actor:<actor id> (a detached actor)."
        )
    )
    label: str = Field(description="What to call it: the notebook's name, the job's name, ...")
    user: str | None = None
    kind: str | None = Field(
        None, description="notebook, job, script or actor (a detached actor); null for users."
    )
    gpu_seconds: float = Field(0.0, description="Logical GPUs held x seconds.")
    cpu_seconds: float = Field(0.0, description="Logical CPUs held x seconds.")
    memory_byte_seconds: float = Field(0.0, description="Logical memory held (bytes) x seconds.")
    held_seconds: float = Field(0.0, description="Seconds during which it held any GPU.")
    max_gpus: float = Field(0.0, description="The most GPUs it held at one sample.")
    gpu_utilization_percent: float | None = Field(
        None,
        description=(
            "Mean utilisation of the GPUs of the nodes it held GPUs on, while held, where Ray "
            "reported it (null: never reported)."
        ),
    )
    first_seen_ms: int | None = None
    last_seen_ms: int | None = None

    first_seen = iso_field("first_seen_ms", "``first_seen_ms`` as ISO-8601 UTC.")
    last_seen = iso_field("last_seen_ms", "``last_seen_ms`` as ISO-8601 UTC.")

    @computed_field
    def summary(self) -> str:
        """In words: ``held 4 GPUs for 6.0 h, used 12 %``."""
        if self.gpu_seconds <= 0:
            return f"no GPUs held; {self.cpu_seconds / 3600:.2f} CPU-h"
        held = self.held_seconds or 1.0
        gpus = self.gpu_seconds / held
        text = f"held {gpus:.3g} GPU{'s' if gpus != 1 else ''} for {fmt_seconds(held)}"
        if self.gpu_utilization_percent is None:
            return f"{text}, utilisation not reported"
        return f"{text}, used {self.gpu_utilization_percent:.0f} %"


class UsageReport(WireModel):
    """``GET usage``: rows for the window, most GPU-seconds first, and how they were measured."""

    since_ms: int
    until_ms: int
    group_by: UsageGroup
    rows: list[UsageRow]
    sample_interval_s: float = Field(
        description=(
            "Seconds between two samples of the sessions (0: unknown to this reader, as for "
            "`iog usage` in local mode)."
        )
    )
    kept_since_ms: int | None = Field(
        None, description="The oldest sample still stored (older ones were dropped)."
    )
    note: str = Field(description="How the figures are computed and what they cannot see.")

    since = iso_field("since_ms", "``since_ms`` as ISO-8601 UTC.")
    until = iso_field("until_ms", "``until_ms`` as ISO-8601 UTC.")
