"""What iog records about detached actors, and which actors nobody may kill through iog.

Each actor made by :func:`iog_jupyter.actors.get_or_create` has one JSON record in Ray's GCS KV
store, namespace ``iog_jupyter``, key ``actor:{namespace}/{name}`` (both URL-quoted): owner,
kernel, class, creation time, TTL and expiry. The GCS outlives Jupyter servers and kernels, so
every kernel and server sees the same records. :class:`ActorRecord` is the wire form of one
actor (Ray's actor table joined with that record).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from ..cursors import decode_position
from ..errors import ForbiddenError, ValidationError
from ..wire import ACTOR_STATES, MAX_LIMIT, MAX_NAME_CHARS

#: The KV namespace iog keeps its own records in (the jobs backend uses it too).
IOG_KV_NAMESPACE = b"iog_jupyter"
#: Prefix of the actor records' keys.
ACTOR_KEY_PREFIX = b"actor:"
#: iog's own actor namespace: never listed by default, never killed through iog.
IOG_ACTOR_NAMESPACE = "iog_jupyter"
#: Namespaces that hold Ray's own actors (job supervisors) and iog's: always protected.
SYSTEM_NAMESPACES = frozenset({"SUPERVISOR_ACTOR_RAY_NAMESPACE", IOG_ACTOR_NAMESPACE})
#: Names and namespaces Ray reserves for itself start with this.
RAY_INTERNAL_PREFIX = "_ray_internal"
#: What ``IogJupyterApp.protected_actor_namespaces`` adds by default (Ray Serve's controller).
DEFAULT_PROTECTED_NAMESPACES = ("serve",)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_name(value: Any, what: str) -> str:
    """Return ``value`` if it can name an actor or a namespace.

    Raises:
        ValidationError: Not a string, empty, longer than :data:`MAX_NAME_CHARS`, or holding a
            control character.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(f"The actor's {what} must be a non-empty string.")
    if len(value) > MAX_NAME_CHARS or _CONTROL_RE.search(value):
        raise ValidationError(
            f"Bad actor {what} {value[:60]!r}: use at most {MAX_NAME_CHARS} printable characters."
        )
    return value


def protection_reason(
    namespace: str, name: str, protected_namespaces: frozenset[str] | tuple[str, ...] = ()
) -> str | None:
    """Why iog must not touch this actor, or None (``protected_namespaces``: configuration's)."""
    if name.startswith(RAY_INTERNAL_PREFIX):
        return "it is one of Ray's internal actors"
    return namespace_protection_reason(namespace, protected_namespaces)


def namespace_protection_reason(
    namespace: str, protected_namespaces: frozenset[str] | tuple[str, ...] = ()
) -> str | None:
    """Why iog must not touch any actor of this namespace, or None (names aside)."""
    if namespace.startswith(RAY_INTERNAL_PREFIX):
        return "it is one of Ray's internal actors"
    if namespace in SYSTEM_NAMESPACES:
        return f"namespace {namespace!r} belongs to Ray or iog_jupyter"
    if namespace in protected_namespaces:
        return f"namespace {namespace!r} is protected (IogJupyterApp.protected_actor_namespaces)"
    return None


def check_target(
    namespace: Any, name: Any, protected_namespaces: frozenset[str] | tuple[str, ...] = ()
) -> None:
    """Refuse a malformed name or namespace, then an actor iog must not touch.

    Raises:
        ValidationError: See :func:`check_name`.
        ForbiddenError: :func:`protection_reason` found a reason.
    """
    check_name(namespace, "namespace")
    check_name(name, "name")
    reason = protection_reason(namespace, name, protected_namespaces)
    if reason is not None:
        raise ForbiddenError(
            f"iog_jupyter will not touch actor {name[:80]!r} in namespace {namespace[:80]!r}: "
            f"{reason}.",
            reason="protected_actor",
        )


def check_ttl(ttl_s: Any) -> float | None:
    """Return ``ttl_s`` as a float, or None for "never expires".

    Raises:
        ValidationError: Not a finite number greater than 0.
    """
    if ttl_s is None:
        return None
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)):
        raise ValidationError(f"ttl_s must be a number of seconds or None, not {ttl_s!r}.")
    if not math.isfinite(ttl_s) or ttl_s <= 0:
        raise ValidationError("ttl_s must be greater than 0 (None: the actor never expires).")
    return float(ttl_s)


def meta_key(namespace: str, name: str) -> bytes:
    """The KV key of an actor's record: ``actor:{namespace}/{name}``, both URL-quoted."""
    return ACTOR_KEY_PREFIX + f"{quote(namespace, safe='')}/{quote(name, safe='')}".encode()


class ActorMeta(BaseModel):
    """iog's record of one detached actor, kept in Ray's KV store (times in epoch ms).

    ``actor_id`` is the hex id of the actor instance it describes: a re-created actor of the
    same name has another, so a stale record is recognised. ``owner``, ``kernel_id`` and
    ``notebook`` say who made it and from where; ``ttl_s`` is how long it lives after its last
    touch and ``expires_ms`` when the reaper kills it (None: never).
    """

    namespace: str
    name: str
    actor_id: str
    class_name: str = ""
    owner: str | None = None
    kernel_id: str | None = None
    notebook: str | None = None
    created_ms: int = 0
    ttl_s: float | None = None
    expires_ms: int | None = None

    def to_bytes(self) -> bytes:
        """The stored JSON."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> ActorMeta | None:
        """Parse a stored record; None when it is missing or not one of ours."""
        if not raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValueError:
            return None

    def touched(self, now_ms: int, ttl_s: float | None = None) -> ActorMeta:
        """A copy whose expiry is ``ttl_s`` (or its own TTL) from ``now_ms``."""
        ttl = ttl_s if ttl_s is not None else self.ttl_s
        expires = None if ttl is None else now_ms + int(ttl * 1000)
        return self.model_copy(update={"ttl_s": ttl, "expires_ms": expires})


def parse_states(text: str | None) -> frozenset[str] | None:
    """The actor states a ``state`` filter names: ``"alive, DEAD"`` is ALIVE and DEAD.

    What REST's ``state`` and ``iog actors list --state`` take; None when it names none.
    :func:`check_list_args` refuses an unknown state, the same for every caller.
    """
    return frozenset(s.strip().upper() for s in (text or "").split(",") if s.strip()) or None


def check_list_args(
    states: frozenset[str] | None,
    limit: Any,
    namespace: str | None = None,
    cursor: str | None = None,
) -> tuple[int, tuple[str, str] | None]:
    """Validate list arguments; returns ``limit`` and the position ``cursor`` names (or None).

    Raises:
        ValidationError: An unknown state, a limit that is not a whole number in
            1 … :data:`MAX_LIMIT`, a bad namespace, or a cursor that no page's
            ``next_cursor`` was (an ``encode_position(namespace, name)``).
    """
    for state in states or ():
        if state not in ACTOR_STATES:
            raise ValidationError(
                f"Unknown actor state {state[:40]!r}; use one or more of "
                f"{', '.join(ACTOR_STATES)}.",
                reason="bad_state",
            )
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    if namespace is not None:
        check_name(namespace, "namespace")
    return limit, decode_position(cursor, (str, str), reason="bad_cursor") if cursor else None
