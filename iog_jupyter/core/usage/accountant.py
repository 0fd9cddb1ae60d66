"""The usage accountant: integrates the sessions samples into per-minute buckets; the report.

Integration rule: a sample at ``t_k`` saying a holder held ``h_k`` credits
``h_k x min(t_(k+1) - t_k, cap)`` when the next sample arrives, with ``cap`` twice the sample
interval: a server that was down (or a poll that failed) is not billed for the gap. So each
figure is within about one sample interval of the truth at each end of a holding. Credits
land in the minute of ``t_k``. See docs/usage.md.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import IogError, NotFoundError, ValidationError
from ..wire import USAGE_GROUPS, JobRecord, NodeUsage, SessionRecord, UsageReport, UsageRow
from .holdings import Holding, holdings
from .store import Bucket, UsageStore, minute_of
from .window import parse_window

#: The most job names an accountant keeps (a job's name never changes once submitted).
JOB_NAMES_KEPT = 4096

NOTE = (
    "Integrated from the server's samples of the sessions (every {interval}, and on every "
    "GET sessions): a sample's holdings count until the next sample, for at most {cap}, so "
    "a server that was down is not billed for the gap and each figure is within about one "
    "sample interval of the truth at each end. Resources are Ray's logical ones, as Ray "
    "schedules them, not physical use; work shorter than a sample interval may be missed. GPU "
    "utilisation is per node (the dashboard's reporter), not per process: a node shared by "
    "several holders gives each its mean, weighted by the GPUs each holds there. A job's "
    "entrypoint resources count for the job; a detached actor is a row of its own (kind "
    "actor), its user known only while its creator runs. Figures are per minute, so the "
    "window is widened to whole minutes."
)


class Jobs(Protocol):
    """What names a job: the server's job service (``get`` raises ``NotFoundError``)."""

    def get(self, submission_id: str) -> JobRecord:
        """One job."""
        ...


def _note(sample_interval_s: float) -> str:
    """:data:`NOTE` for this interval (0: unknown to this reader, as in local mode)."""
    if sample_interval_s <= 0:
        return NOTE.format(interval="usage_sample_interval_s", cap="twice that")
    return NOTE.format(interval=f"{sample_interval_s:g} s", cap=f"{2 * sample_interval_s:g} s")


def _group_key(bucket: Bucket, group_by: str) -> str:
    if group_by == "user":
        return bucket.user or "unknown"
    if group_by == "job":
        return bucket.submission_id or bucket.holder.removeprefix("job:")
    return bucket.holder


@dataclass(eq=False)
class UsageAccountant:
    """Feeds on the sessions samples (``observe``) and answers ``GET usage`` (``report``).

    ``node_usage`` returns the cluster monitor's latest per-node usage (by node id); samples
    are kept in memory and written to ``store`` by ``flush`` (the sessions loop calls it, and
    every report does first). ``jobs`` returns the server's job service once it chose a
    backend (None before): a report names the jobs it knows (see :func:`build_report`).
    """

    store: UsageStore
    sample_interval_s: float = 10.0
    node_usage: Callable[[], Mapping[str, NodeUsage]] = dict
    jobs: Callable[[], Jobs | None] = lambda: None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _last: tuple[int, list[Holding]] | None = field(default=None, init=False)
    _pending: dict[tuple[int, str], Bucket] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.store.set_sample_interval(self.sample_interval_s)  # for local-mode readers
        self._job_names = functools.lru_cache(maxsize=JOB_NAMES_KEPT)(self._look_up_job_name)

    def observe(
        self, now_ms: int, sessions: Iterable[SessionRecord], actors: Iterable[Any], tasks: Any
    ) -> None:
        """Take one sessions sample (all records, Ray's own included; live actors; tasks)."""
        self.record(now_ms, holdings(sessions, actors, tasks, self.node_usage()))

    def record(self, now_ms: int, held: list[Holding]) -> None:
        """Credit the previous sample up to ``now_ms`` (capped), and keep this one.

        A sample older than the last one (two polls that raced) is dropped.
        """
        with self._lock:
            last = self._last
            if last is not None and now_ms <= last[0]:
                return
            self._last = (now_ms, held)
            if last is None:
                return
            then, previous = last
            # Capped at twice the sample interval: a gap (a server down) is not billed.
            seconds = min(now_ms - then, 2 * self.sample_interval_s * 1000) / 1000
            minute = minute_of(then)
            for holding in previous:
                self._credit(minute, then, holding, seconds)

    def _credit(self, minute: int, then: int, holding: Holding, seconds: float) -> None:
        bucket = self._pending.get((minute, holding.key))
        if bucket is None:
            bucket = self._pending[(minute, holding.key)] = Bucket(
                minute,
                holding.key,
                holding.kind,
                holding.label,
                holding.user,
                holding.submission_id,
                first_ms=then,
                last_ms=then,
            )
        gpus = holding.resources.get("GPU", 0.0)
        bucket.gpu_s += gpus * seconds
        bucket.cpu_s += holding.resources.get("CPU", 0.0) * seconds
        bucket.mem_byte_s += holding.resources.get("memory", 0.0) * seconds
        if gpus > 0:
            bucket.gpu_held_s += seconds
        if holding.gpu_utilization_percent is not None:
            bucket.util_gpu_s += holding.gpu_utilization_percent * gpus * seconds
            bucket.util_covered_gpu_s += gpus * seconds
        bucket.max_gpus = max(bucket.max_gpus, gpus)
        bucket.label, bucket.user = holding.label, holding.user or bucket.user
        bucket.first_ms, bucket.last_ms = min(bucket.first_ms, then), max(bucket.last_ms, then)

    def flush(self) -> None:
        """Write the credited buckets to the store (blocking: off the event loop)."""
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        if pending:
            self.store.add(pending, int(time.time() * 1000))

    def report(
        self, since: str | None = None, until: str | None = None, group_by: str = "session"
    ) -> UsageReport:
        """Usage in the window, one row per ``group_by``, most GPU-seconds first (blocking).

        Raises:
            ValidationError: A bad ``since``, ``until`` or ``group_by``.
        """
        self.flush()
        failed = threading.Event()

        # A job's name (cached); None while no job service was chosen, or once a lookup in
        # this report failed (Ray unreachable: one failed call per report, not one per row).
        def job_name(submission_id: str) -> str | None:
            if failed.is_set() or self.jobs() is None:
                return None
            try:
                return self._job_names(submission_id)
            except IogError:
                failed.set()
                return None

        return build_report(
            self.store, since, until, group_by, self.sample_interval_s, job_name=job_name
        )

    def _look_up_job_name(self, submission_id: str) -> str | None:
        """The job's ``name`` metadata (None: none, or no such job); raises the service's errors."""
        jobs = self.jobs()
        assert jobs is not None  # checked by report's job_name
        try:
            record = jobs.get(submission_id)
        except NotFoundError:
            return None
        return record.name if record.name != submission_id else None


def build_report(
    store: UsageStore,
    since: str | None,
    until: str | None,
    group_by: str,
    sample_interval_s: float,
    now_ms: int | None = None,
    job_name: Callable[[str], str | None] = lambda _submission_id: None,
) -> UsageReport:
    """The report of :meth:`UsageAccountant.report` from a store (local mode reads one).

    ``sample_interval_s`` 0 (a local reader does not know it): the one the store recorded.
    ``job_name`` names a job by its submission id (None: unknown); a job's row is labelled
    ``job <name> (<id>)`` when it has one, else ``job <id>``. Called once per job row.

    Raises:
        ValidationError: A bad ``since``, ``until`` or ``group_by``.
    """
    if group_by not in USAGE_GROUPS:
        raise ValidationError(
            f"Bad group_by {str(group_by)[:40]!r}: give one of {', '.join(USAGE_GROUPS)}.",
            reason="bad_group_by",
        )
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    sample_interval_s = sample_interval_s or store.sample_interval_s()
    since_ms, until_ms = parse_window(since, until, now_ms)
    groups: dict[str, list[Bucket]] = {}
    group_of: dict[str, str] = {}
    for bucket in store.per_holder(since_ms, until_ms):
        group_of[bucket.holder] = key = _group_key(bucket, group_by)
        groups.setdefault(key, []).append(bucket)
    rows = [_row(key, parts, group_by, job_name) for key, parts in groups.items()]
    # A group of one holder (every group by session) has its held time summed already; a
    # group of several takes, per minute, its longest-holding member's seconds.
    shared = {holder: key for holder, key in group_of.items() if len(groups[key]) > 1}
    held = store.held_by_group(since_ms, until_ms, shared) if shared else {}
    for row in rows:
        row.held_seconds = held.get(row.key, row.held_seconds)
    rows.sort(key=lambda r: (-r.gpu_seconds, -r.cpu_seconds, r.key))
    return UsageReport(
        since_ms=since_ms,
        until_ms=until_ms,
        group_by=group_by,  # type: ignore[arg-type]
        rows=rows,
        sample_interval_s=sample_interval_s,
        kept_since_ms=store.oldest_ms(),
        note=_note(sample_interval_s),
    )


def _row(
    key: str, parts: list[Bucket], group_by: str, job_name: Callable[[str], str | None]
) -> UsageRow:
    newest = max(parts, key=lambda b: b.last_ms)
    covered = sum(b.util_covered_gpu_s for b in parts)
    sid = newest.submission_id
    if group_by == "user":
        label, kind = key, None
    elif sid and (group_by == "job" or newest.kind == "job"):
        name, kind = job_name(sid), "job"
        if name:
            label = f"job {name} ({sid})"
        else:  # a job's driver was sampled with its name where it carried one (local readers)
            label = newest.label if newest.kind == "job" else f"job {sid}"
    else:
        label, kind = newest.label, newest.kind
    return UsageRow(
        key=key,
        label=label,
        user=newest.user,
        kind=kind,
        gpu_seconds=sum(b.gpu_s for b in parts),
        cpu_seconds=sum(b.cpu_s for b in parts),
        memory_byte_seconds=sum(b.mem_byte_s for b in parts),
        held_seconds=sum(b.gpu_held_s for b in parts),
        max_gpus=max(b.max_gpus for b in parts),
        gpu_utilization_percent=sum(b.util_gpu_s for b in parts) / covered if covered else None,
        first_seen_ms=min(b.first_ms for b in parts),
        last_seen_ms=max(b.last_ms for b in parts),
    )
