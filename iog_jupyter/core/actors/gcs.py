"""The detached-actor registry: list, kill, touch and reap named actors through the GCS.

Nothing here is a Ray driver: every call goes to the GCS (``ListNamedActors``,
``GetNamedActorInfo``, ``GetAllActorInfo``, ``KillActorViaGcs``, the KV store) through
:mod:`._ray_compat`, so the Jupyter server can use it, and so can a kernel.

Listing costs what the page costs, not what Ray's actor table holds: one ``ListNamedActors``
(names only, one reply: Ray has no paging there), then look-ups of the names after the cursor
in bounded concurrent batches that stop as soon as the page is full, and iog's records of the
page's actors only (one KV multi-get). A state filter first asks the GCS for the actors in
those states (it filters them itself), capped near the page size, and then needs no names;
only when a state holds more actors than that does it walk the names instead.

The functions take a GCS address and a deadline; :class:`.registry.ActorRegistry` binds them
to a :class:`~.connection.RayConnection` for the server and the CLI.
"""

from __future__ import annotations

import bisect
import logging
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from .. import _ray_compat
from ..cursors import encode_position
from ..errors import NotFoundError, ValidationError
from ..wire import DEFAULT_LIMIT, ActorPage, ActorRecord
from .records import (
    ACTOR_KEY_PREFIX,
    IOG_KV_NAMESPACE,
    RAY_INTERNAL_PREFIX,
    ActorMeta,
    check_list_args,
    check_target,
    check_ttl,
    meta_key,
    namespace_protection_reason,
    protection_reason,
)

log = logging.getLogger(__name__)
Key = tuple[str, str]
Protected = frozenset[str] | tuple[str, ...]


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (what the records store)."""
    return int(time.time() * 1000)


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw else None


def to_record(data: Any, meta: ActorMeta | None, protected: Protected) -> ActorRecord:
    """Join Ray's ``ActorTableData`` with iog's record (ignored when it is another instance's)."""
    actor_id = data.actor_id.hex()
    if meta is not None and meta.actor_id != actor_id:
        meta = None
    record = ActorRecord(
        namespace=data.ray_namespace,
        name=data.name,
        actor_id=actor_id,
        state=_ray_compat.actor_state_name(data),
        class_name=data.class_name,
        detached=bool(data.is_detached),
        job_id=_hex(data.job_id),
        pid=int(data.pid) or None,
        node_id=_hex(data.node_id),
        created_ms=int(data.start_time) or None,
        resources={str(k): float(v) for k, v in data.required_resources.items()},
        protected=protection_reason(data.ray_namespace, data.name, protected) is not None,
    )
    if meta is not None:
        record.managed = True
        record.owner, record.kernel_id, record.notebook = meta.owner, meta.kernel_id, meta.notebook
        record.created_ms = meta.created_ms or record.created_ms
        record.ttl_s, record.expires_ms = meta.ttl_s, meta.expires_ms
        record.class_name = record.class_name or meta.class_name
    return record


# -- iog's records in the KV store ------------------------------------------------------------


def read_meta(gcs: str, namespace: str, name: str, timeout_s: float) -> ActorMeta | None:
    """The record iog holds of one actor, or None."""
    raw = _ray_compat.kv_get(gcs, meta_key(namespace, name), IOG_KV_NAMESPACE, timeout_s)
    return ActorMeta.from_bytes(raw)


def read_metas(gcs: str, keys: list[Key], timeout_s: float) -> dict[Key, ActorMeta]:
    """The records iog holds of these actors (one KV multi-get); those without one are left out."""
    if not keys:
        return {}
    wanted = {meta_key(*key): key for key in keys}
    found: dict[Key, ActorMeta] = {}
    raws = _ray_compat.kv_multi_get(gcs, list(wanted), IOG_KV_NAMESPACE, timeout_s)
    for raw_key, raw in raws.items():
        key = wanted.get(bytes(raw_key))
        meta = ActorMeta.from_bytes(raw)
        if key is not None and meta is not None:
            found[key] = meta
    return found


def record_actor(gcs: str, meta: ActorMeta, timeout_s: float) -> ActorMeta:
    """Store ``meta`` unless a record of the same actor instance is there (first writer wins).

    A record left by an earlier actor of the same name (another ``actor_id``) is replaced.
    Returns the record now stored.
    """
    key = meta_key(meta.namespace, meta.name)
    if _ray_compat.kv_put(gcs, key, meta.to_bytes(), IOG_KV_NAMESPACE, timeout_s, overwrite=False):
        return meta
    kept = read_meta(gcs, meta.namespace, meta.name, timeout_s)
    if kept is not None and kept.actor_id == meta.actor_id:
        return kept
    _ray_compat.kv_put(gcs, key, meta.to_bytes(), IOG_KV_NAMESPACE, timeout_s)
    return meta


def _live(gcs: str, namespace: str, name: str, timeout_s: float) -> Any:
    data = _ray_compat.named_actor(gcs, name, namespace, timeout_s)
    if data is None or _ray_compat.actor_state_name(data) == "DEAD":
        raise NotFoundError(
            f"No live actor is named {name[:80]!r} in namespace {namespace[:80]!r}; "
            "`iog actors list --named` (GET actors) shows the named actors.",
            reason="actor_not_found",
        )
    return data


# -- verbs --------------------------------------------------------------------------------------


#: Names looked up per batch at most while a filtered list walks the names.
WALK_BATCH_MAX = 256
#: A state filter asks the GCS for at most this many actors per state per requested page
#: row (and at least :data:`STATE_SCAN_MIN`); past that it walks the names instead.
STATE_SCAN_PER_ROW = 4
STATE_SCAN_MIN = 200
#: States whose actors have no name any more (their names are free): never listed.
_NAMELESS_STATES = frozenset({"DEAD"})


def _walk(
    gcs: str,
    keys: list[Key],
    wanted: int,
    matches: Callable[[Any], bool],
    timeout_s: float,
) -> list[tuple[Key, Any]]:
    """The first ``wanted`` of the sorted ``keys`` whose live actor ``matches``.

    Names are looked up in concurrent batches, the first of ``wanted`` and each next one twice
    as big (at most :data:`WALK_BATCH_MAX`), so a dense filter reads about one page and a
    sparse one reads no further than it must.
    """
    found: list[tuple[Key, Any]] = []
    start, batch = 0, wanted
    while len(found) < wanted and start < len(keys):
        chunk = keys[start : start + batch]
        start += len(chunk)
        infos = _ray_compat.named_actors_info(gcs, chunk, timeout_s)
        for key in chunk:
            data = infos.get(key)
            if data is not None and matches(data):
                found.append((key, data))
                if len(found) == wanted:
                    break
        batch = min(batch * 2, WALK_BATCH_MAX)
    return found


def _visible(keys: Collection[Key], namespace: str | None, protected: Protected) -> list[Key]:
    """The ``keys`` a list shows, sorted: ``namespace``'s, or every unprotected one.

    Sorted because every list pages by key and the prefix cut bisects; the namespaces are
    judged once each.
    """
    if namespace is not None:
        return sorted(k for k in keys if k[0] == namespace)
    hidden = {ns for ns in {k[0] for k in keys} if namespace_protection_reason(ns, protected)}
    return sorted(
        k for k in keys if k[0] not in hidden and not k[1].startswith(RAY_INTERNAL_PREFIX)
    )


def _with_prefix(keys: list[Key], prefix: str) -> list[Key]:
    """The sorted ``keys`` whose name starts with ``prefix``: one bisected run per namespace."""
    if ord(prefix[-1]) == sys.maxunicode:  # no string sorts just after these names: sift
        return [k for k in keys if k[1].startswith(prefix)]
    past = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string after every match
    found: list[Key] = []
    start = 0
    while start < len(keys):
        namespace = keys[start][0]
        end = bisect.bisect_left(keys, (namespace + "\0",), start)  # the next namespace's first
        low = bisect.bisect_left(keys, (namespace, prefix), start, end)
        found += keys[low : bisect.bisect_left(keys, (namespace, past), low, end)]
        start = end
    return found


def listed_names(
    gcs: str, timeout_s: float, namespace: str | None = None, protected: Protected = ()
) -> list[Key]:
    """The named actors a list shows, sorted: ``namespace``'s, or every unprotected one.

    One ``ListNamedActors`` call; its cost grows with the named actors (see
    :class:`~.registry.NameCache` for the server's cached copy).
    """
    keys = _ray_compat.list_named_actors(gcs, timeout_s, namespace)
    return _visible(keys, namespace, protected)


def _by_state(
    gcs: str, states: frozenset[str], cap: int, timeout_s: float
) -> dict[Key, Any] | None:
    """Every named actor in ``states``, by key, from the GCS's own state filter.

    No dead actor is among them, so each holds its name: no name list is needed. None when some
    state holds more than ``cap`` actors (walk the names instead).
    """
    found: dict[Key, Any] = {}
    for state in sorted(states - _NAMELESS_STATES):
        datas = _ray_compat.list_actors(gcs, timeout_s, state=state, limit=cap + 1)
        if len(datas) > cap:
            return None
        for data in datas:
            if data.name:
                found[(data.ray_namespace, data.name)] = data
    return found


def list_actors(
    gcs: str,
    timeout_s: float,
    *,
    detached: bool | None = None,
    namespace: str | None = None,
    states: frozenset[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    protected: Protected = (),
    names: Callable[[], list[Key]] | None = None,
    prefix: str | None = None,
) -> ActorPage:
    """One page of named actors, by namespace then name, with iog's owner and TTL.

    Protected actors (Ray's internal ones, system and protected namespaces) are left out unless
    ``namespace`` names theirs. The cost follows the page, not Ray's actor table: see the
    module's docstring. Without ``detached`` and ``states`` the page's ``total`` is the exact
    count (from the names); with either it is None, since counting would read every actor.
    ``detached``: only detached actors (True), only the others (False) or both (None);
    ``states``: ``ALIVE``, ``PENDING_CREATION``, ...; ``prefix``: only names that start so;
    ``protected``: configuration's namespaces; ``names``: where the sorted listed names come
    from (:func:`listed_names` when None).

    Raises:
        ValidationError: A bad state, limit or cursor (checked before Ray is asked).
    """
    limit, after = check_list_args(states, limit, namespace, cursor)

    def matches(data: Any) -> bool:
        if detached is not None and bool(data.is_detached) != detached:
            return False
        return not states or _ray_compat.actor_state_name(data) in states

    wanted = limit + 1
    cap = max(STATE_SCAN_MIN, STATE_SCAN_PER_ROW * wanted)
    by_state = _by_state(gcs, states, cap, timeout_s) if states else None
    if by_state is not None:
        keys = _visible(by_state, namespace, protected)
    else:
        keys = names() if names is not None else listed_names(gcs, timeout_s, namespace, protected)
    if prefix:  # O(namespaces × log n)
        keys = _with_prefix(keys, prefix)
    # Exact without filters: every name listed is a live actor's.
    total = len(keys) if detached is None and not states else None
    if after is not None:
        keys = keys[bisect.bisect_right(keys, after) :]
    if by_state is not None:
        found = [(k, by_state[k]) for k in keys if matches(by_state[k])][:wanted]
    else:
        found = _walk(gcs, keys, wanted, matches, timeout_s)
    page = found[:limit]
    metas = read_metas(gcs, [key for key, _ in page], timeout_s)
    records = [to_record(data, metas.get(key), protected) for key, data in page]
    next_cursor = encode_position(*page[-1][0]) if len(found) > limit else None
    return ActorPage(actors=records, next_cursor=next_cursor, total=total)


def kill_actor(
    gcs: str, namespace: str, name: str, timeout_s: float, protected: Protected = ()
) -> ActorRecord:
    """Kill a named actor through the GCS (no restart), forget iog's record; returns it as it was.

    Raises:
        ValidationError: A malformed name or namespace.
        ForbiddenError: The actor is Ray's, iog's, or in a protected namespace.
        NotFoundError: No live actor has this name in this namespace.
    """
    check_target(namespace, name, protected)
    data = _live(gcs, namespace, name, timeout_s)
    record = to_record(data, read_meta(gcs, namespace, name, timeout_s), protected)
    _ray_compat.kill_actor(gcs, data.actor_id, timeout_s)
    _ray_compat.kv_del(gcs, meta_key(namespace, name), IOG_KV_NAMESPACE, timeout_s)
    return record


def touch_actor(
    gcs: str,
    namespace: str,
    name: str,
    timeout_s: float,
    ttl_s: float | None = None,
    template: ActorMeta | None = None,
) -> ActorMeta:
    """Push an actor's expiry to ``ttl_s`` (or its recorded TTL) from now.

    An actor iog holds no record of (made with plain Ray) is adopted when ``ttl_s`` is given;
    ``template`` supplies the owner and kernel to record then. Returns the updated record.

    Raises:
        ValidationError: A bad ``ttl_s``, or no TTL recorded and none given.
        ForbiddenError: A protected actor.
        NotFoundError: No live actor has this name.
    """
    check_target(namespace, name)
    ttl_s = check_ttl(ttl_s)
    data = _live(gcs, namespace, name, timeout_s)
    meta = read_meta(gcs, namespace, name, timeout_s)
    if meta is None or meta.actor_id != data.actor_id.hex():
        if ttl_s is None:
            raise ValidationError(
                f"Actor {name[:80]!r} has no TTL recorded by iog_jupyter; pass ttl_s to set one."
            )
        base = template or ActorMeta(namespace=namespace, name=name, actor_id="")
        meta = base.model_copy(
            update={
                "namespace": namespace,
                "name": name,
                "actor_id": data.actor_id.hex(),
                "class_name": data.class_name or base.class_name,
                "created_ms": base.created_ms or int(data.start_time) or now_ms(),
            }
        )
    elif meta.ttl_s is None and ttl_s is None:
        raise ValidationError(f"Actor {name[:80]!r} never expires; pass ttl_s to give it a TTL.")
    meta = meta.touched(now_ms(), ttl_s)
    _ray_compat.kv_put(gcs, meta_key(namespace, name), meta.to_bytes(), IOG_KV_NAMESPACE, timeout_s)
    return meta


@dataclass
class ReapedActor:
    """What one reaper pass did to one record: ``expired`` (actor killed) or ``gone``."""

    namespace: str
    name: str
    actor_id: str
    reason: str
    owner: str | None = None
    ttl_s: float | None = None
    expires_ms: int | None = None


def reap_actors(
    gcs: str, timeout_s: float, now: int | None = None, protected: Protected = ()
) -> list[ReapedActor]:
    """Kill actors whose TTL ran out, and drop records whose actor is gone.

    Each record is read again just before its actor is killed, so a ``touch`` that landed in
    between wins. Protected actors are never killed (their records are dropped).

    Expiry is judged by ``now`` (epoch ms; the current time when None). Returns one entry per
    killed actor or dropped record.
    """
    now = now_ms() if now is None else now
    metas: dict[Key, tuple[ActorMeta, bytes]] = {}
    for raw in _ray_compat.kv_scan(gcs, ACTOR_KEY_PREFIX, IOG_KV_NAMESPACE, timeout_s).values():
        meta = ActorMeta.from_bytes(raw)
        if meta is not None:
            metas[(meta.namespace, meta.name)] = (meta, raw)
    if not metas:
        return []
    infos = _ray_compat.named_actors_info(gcs, list(metas), timeout_s)
    done: list[ReapedActor] = []
    for key, (meta, raw) in metas.items():
        data = infos.get(key)
        gone = (
            data is None
            or _ray_compat.actor_state_name(data) == "DEAD"
            or data.actor_id.hex() != meta.actor_id
            or protection_reason(meta.namespace, meta.name, protected) is not None
        )
        expired = meta.expires_ms is not None and now >= meta.expires_ms
        if not gone and not expired:
            continue
        # Read again: a touch or a re-creation since the scan wins over this pass.
        fresh = _ray_compat.kv_get(gcs, meta_key(*key), IOG_KV_NAMESPACE, timeout_s)
        if fresh != raw:
            continue
        if not gone:
            _ray_compat.kill_actor(gcs, data.actor_id, timeout_s)
        _ray_compat.kv_del(gcs, meta_key(*key), IOG_KV_NAMESPACE, timeout_s)
        reason = "gone" if gone else "expired"
        done.append(
            ReapedActor(*key, meta.actor_id, reason, meta.owner, meta.ttl_s, meta.expires_ms)
        )
    return done
