"""The idle policy and the server's session service: list, release, warn and release when idle.

A notebook kernel of the Jupyter server that has been idle (kernel not busy, no running Ray
task) for ``warn_after_s`` is *warned*: its record says so, with when it will be released.
After ``release_after_s`` its non-detached actors and tasks holding one of
``release_resources`` (GPU by default) are released, once per idle period, and audited.
Detached actors, other sessions, drivers that are not kernels of this server, and sessions
with a keep-alive exemption (``keep_alive()``) are never touched.
Off unless ``warn_after_s`` or ``release_after_s`` is set.

Every read of the sessions (the loop's and ``GET sessions``') is also a usage sample: with a
``usage`` accountant the loop runs always, every ``usage.sample_interval_s``, and the policy
passes within it at their own interval.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _ray_compat
from ..calls import Lanes
from ..connection import RayConnection
from ..errors import ForbiddenError, IogError, NotFoundError
from ..security.audit import AuditLog
from ..tasks import cancel_and_wait
from ..usage import UsageAccountant
from ..wire import IdlePolicy, SessionPolicyState
from ..wire.base import fmt_seconds
from .connect import KEEP_ALIVE_PREFIX, KV_NAMESPACE
from .drivers import (
    KernelInfo,
    ReleaseResult,
    SessionRecord,
    build_sessions,
    check_session_id,
    read_cluster,
    refuse_internal,
    release_session,
)

log = logging.getLogger(__name__)

#: Who the audit log names for the policy's own releases.
POLICY_USER = "iog-idle-policy"


def _keep_alive_until(raw: bytes | None, cap_s: float) -> int | None:
    """The end (epoch ms) of a stored exemption, capped at ``set_ms + cap_s``."""
    try:
        data = json.loads(raw or b"")
        until = int(data["until_ms"])
        since = int(data.get("set_ms", until))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return min(until, since + int(cap_s * 1000))


@dataclass(eq=False)
class SessionService:
    """The server's sessions: one list for REST and the policy, releases, and the idle loop.

    ``kernels`` is a coroutine function returning the Jupyter server's kernels; blocking GCS
    calls run in the ``sessions`` lane of ``calls``; the policy's warnings and releases go to
    ``audit``. ``release_foreign`` lets a person release drivers that are not kernels of this
    server (other users' notebooks, scripts, jobs). Every read is fed to ``usage``.
    """

    conn: RayConnection
    kernels: Callable[[], Awaitable[Sequence[KernelInfo]]]
    policy: IdlePolicy
    calls: Lanes
    audit: AuditLog | None = None
    call_timeout_s: float = 10.0
    release_foreign: bool = False
    usage: UsageAccountant | None = None
    _last_busy_ms: dict[str, int] = field(default_factory=dict, init=False)
    #: Session id -> the start of the idle period it was warned (released) in.
    _warned: dict[str, int] = field(default_factory=dict, init=False)
    _released: dict[str, int] = field(default_factory=dict, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    #: When the GCS was last read for sessions (monotonic), by any caller.
    _last_read: float = field(default=float("-inf"), init=False)

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.calls.run("sessions", fn, *args, timeout_s=self.call_timeout_s)

    def _read(
        self, kernels: Sequence[KernelInfo]
    ) -> tuple[list[SessionRecord], dict[bytes, bytes], int]:
        """Read and join the sessions, and feed the sample to ``usage`` (off the event loop)."""
        drivers, actors, tasks = read_cluster(self.conn)
        kv = self.conn.gcs_call(
            _ray_compat.kv_scan, KEEP_ALIVE_PREFIX.encode(), KV_NAMESPACE, self.call_timeout_s
        )
        now = int(time.time() * 1000)
        sessions = build_sessions(drivers, actors, tasks, kernels, now)
        self._last_read = time.monotonic()
        if self.usage is not None:
            self.usage.observe(now, sessions, actors, tasks)
        return sessions, kv, now

    async def list(self, internal: bool = False) -> list[SessionRecord]:
        """Every live driver, with idle time and the policy's view of each.

        Ray's own drivers (``SessionRecord.internal``) only with ``internal``: they are never
        shown by default, nor seen by the idle policy.

        Raises:
            RayUnavailableError: The GCS did not answer.
        """
        kernels = list(await self.kernels())
        sessions, kv, now = await self._off_loop(self._read, kernels)
        live = set()
        for record in sessions:
            live.add(record.session_id)
            key = (KEEP_ALIVE_PREFIX + record.session_id).encode()
            exempt = _keep_alive_until(kv.get(key), self.policy.keep_alive_max_s)
            self._apply(record, now, exempt if exempt and exempt > now else None)
        for memory in (self._last_busy_ms, self._warned, self._released):
            for sid in set(memory) - live:
                del memory[sid]
        return [s for s in sessions if internal or not s.internal]

    def _apply(self, record: SessionRecord, now: int, exempt_until: int | None) -> None:
        """Count idle time from the last moment seen busy, and fill ``record.policy``."""
        sid = record.session_id
        if record.local_kernel and record.idle_s == 0:
            self._last_busy_ms[sid] = now
        since = max(record.last_activity_ms or 0, self._last_busy_ms.get(sid, 0)) or now
        if record.local_kernel and record.idle_s:
            record.idle_s = max(0.0, (now - since) / 1000)
        policy, state, message = self.policy, "off", None
        warn_at = release_at = None
        held = {r: record.resources.get(r, 0.0) for r in policy.release_resources}
        holds = any(v > 0 for v in held.values())
        if not policy.enabled:
            state = "off"
        elif not record.local_kernel:
            state = "not_applicable"
        elif exempt_until is not None:
            state, message = "exempt", "Kept alive by iog_jupyter.keep_alive()."
        elif self._released.get(sid) == since:
            state = "released"
            message = "Released by the idle policy; run a cell to start a new idle period."
        else:
            idle = record.idle_s or 0.0
            warn_at = since + int(policy.warn_after_s * 1000) if policy.warn_after_s else None
            if policy.release_after_s:
                release_at = since + int(policy.release_after_s * 1000)
            state = "active"
            if holds and release_at is not None and now >= release_at:
                state = "due"
            elif holds and warn_at is not None and now >= warn_at:
                state = "warned"
            if state in ("warned", "due"):
                what = ", ".join(f"{k} {v:g}" for k, v in held.items() if v)
                when = (
                    f"; its non-detached actors and tasks holding them will be released in "
                    f"{fmt_seconds(max(0, (release_at - now) / 1000))}"
                    if release_at
                    else ""
                )
                message = (
                    f"Idle for {fmt_seconds(idle)} while holding {what}{when}. Run "
                    "iog_jupyter.keep_alive(hours=...) in the notebook to keep them."
                )
        record.policy = SessionPolicyState(
            state=state,
            idle_since_ms=since if record.local_kernel else None,
            warn_at_ms=warn_at,
            release_at_ms=release_at,
            keep_alive_until_ms=exempt_until,
            message=message,
        )

    async def find(self, session_id: str) -> SessionRecord:
        """The live session with this Ray job id or kernel id.

        Raises:
            ValidationError: The id is malformed.
            NotFoundError: No live driver has it.
        """
        wanted = check_session_id(session_id)
        for record in await self.list(internal=True):
            if wanted in (record.session_id, record.kernel_id):
                return record
        raise NotFoundError(
            f"No live session has the id {wanted}; `iog sessions list` (GET sessions) shows "
            "them (a kernel that never started Ray is not a session).",
            reason="session_not_found",
        )

    async def release(self, record: SessionRecord) -> ReleaseResult:
        """Release a person asked for: all its non-detached actors and its tasks.

        Raises:
            ForbiddenError: The driver is Ray's own, or not a kernel of this server and
                ``release_foreign`` is off.
        """
        refuse_internal(record.session_id, record.namespace)
        if not record.local_kernel and not self.release_foreign:
            raise ForbiddenError(
                f"Session {record.session_id} ({record.kind}, owner "
                f"{record.owner or 'unknown'}) is not a kernel of this Jupyter server; set "
                "IogJupyterApp.sessions_release_foreign to release other drivers.",
                reason="foreign_session",
            )
        return await self._off_loop(release_session, self.conn, record.session_id, None)

    # -- the idle loop -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop when the policy is on or usage is sampled (idempotent; needs a loop)."""
        if (self.policy.enabled or self.usage is not None) and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop; write the usage credited so far."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.usage is not None:
            await self.calls.run("sessions", self.usage.flush, needs_ray=False)

    async def _loop(self) -> None:
        """Sample (and write usage) every sample interval; a policy pass when one is due.

        A sample is skipped when another reader of the sessions (the change feed while the Lab
        watches, ``GET sessions``) took one within half an interval: their reads feed usage too,
        so the loop adds no Ray call while they poll, and no two samples are over 1.5 intervals
        apart (the usage cap is 2).
        """
        intervals = [self.policy.check_interval_s] if self.policy.enabled else []
        if self.usage is not None:
            intervals.append(self.usage.sample_interval_s)
        next_check = 0.0
        while True:
            started = time.monotonic()
            due = self.policy.enabled and started >= next_check
            try:
                if due:
                    next_check = started + self.policy.check_interval_s
                    await self.check_once()
                elif started - self._last_read >= min(intervals) / 2:
                    await self.list()  # else a reader (the change feed, GET sessions) sampled
            except IogError as err:
                log.info("iog_jupyter: sessions poll skipped: %s", err.message)
            except Exception:  # the loop must survive anything one pass hits
                log.exception("iog_jupyter: sessions poll failed")
            if self.usage is not None:
                try:
                    await self.calls.run("sessions", self.usage.flush, needs_ray=False)
                except Exception:  # a full disk must not stop the policy
                    log.exception("iog_jupyter: writing usage failed")
            # At a fixed rate: a slow read must not stretch the gap past the usage cap.
            await asyncio.sleep(max(0.0, min(intervals) - (time.monotonic() - started)))

    async def check_once(self) -> list[SessionRecord]:
        """One policy pass: audit new warnings, release sessions that are due."""
        sessions = await self.list()
        for record in sessions:
            state = record.policy.state
            since = record.policy.idle_since_ms or 0
            if state in ("warned", "due") and self._warned.get(record.session_id) != since:
                self._warned[record.session_id] = since
                self._audit("session.idle_warn", record, "allowed", record.policy.message)
            if state == "due":
                await self._release_idle(record, since)
        return sessions

    async def _release_idle(self, record: SessionRecord, since: int) -> None:
        self._released[record.session_id] = since
        try:
            result = await self._off_loop(
                release_session,
                self.conn,
                record.session_id,
                list(self.policy.release_resources),
            )
        except IogError as err:
            self._audit("session.idle_release", record, "failed", err.message)
            return
        record.policy.state, record.policy.message = "released", "Released by the idle policy."
        detail = (
            f"idle {record.idle_s or 0:.0f} s; killed {len(result.killed_actors)} actor(s), "
            f"cancelled {result.cancelled_tasks} task(s), kept "
            f"{result.kept_detached_actors} detached; owner {record.owner or 'unknown'}"
        )
        self._audit("session.idle_release", record, "allowed", detail)
        log.warning("iog_jupyter: idle policy released session %s: %s", record.session_id, detail)

    def _audit(self, action: str, record: SessionRecord, outcome: str, detail: Any) -> None:
        if self.audit is None:
            return
        target = f"{record.session_id} {record.notebook_path or record.kernel_id or ''}".strip()
        try:
            self.audit.record(action, target, outcome, POLICY_USER, None, detail=str(detail))
        except OSError:
            log.exception("iog_jupyter: could not write the audit log")
