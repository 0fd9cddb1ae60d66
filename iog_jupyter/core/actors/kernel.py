"""Detached actors from a notebook: create once, reattach from any kernel, give them a TTL.

These functions run in a Ray driver (a notebook kernel that called ``iog_jupyter.connect()`` or
``ray.init()``). A detached actor outlives the kernel that made it; iog records its owner, kernel,
creation time and TTL in Ray's GCS KV store (namespace ``iog_jupyter``), so another notebook,
the Jupyter server's reaper and ``iog actors`` all see the same facts.

Example:
    >>> from iog_jupyter import actors  # doctest: +SKIP
    >>> cache = actors.get_or_create(Cache, "feats", namespace="team", ttl_s=3600)  # doctest: +SKIP
    >>> # ... later, from another notebook:
    >>> cache = actors.attach("feats", namespace="team")  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from typing import Any

from .. import _ray_compat
from ..errors import NotFoundError, RayUnavailableError, ValidationError
from ..sessions.connect import current_user, kernel_id, notebook_path
from ..wire import ActorRecord
from .gcs import kill_actor, list_actors, now_ms, record_actor, touch_actor
from .records import ActorMeta, check_name, check_target, check_ttl

#: Where actors go when no namespace is given and the driver's own is anonymous (a bare
#: ``ray.init()``): one fixed name, so any notebook can reattach.
DEFAULT_NAMESPACE = "default"
#: Deadline of one GCS call made from a kernel.
TIMEOUT_S = 10.0
#: ``.options()`` that get_or_create sets itself.
_RESERVED_OPTIONS = frozenset({"name", "namespace", "lifetime", "get_if_exists"})


def _driver_gcs() -> str:
    """The GCS address of this process's Ray driver.

    Raises:
        RayUnavailableError: Ray is not initialized in this process.
    """
    _ray_compat.import_ray()
    import ray

    if not ray.is_initialized():
        raise RayUnavailableError(
            "Ray is not initialized in this kernel. Call iog_jupyter.connect() (or ray.init()) "
            "first, then try again.",
            reason="ray_not_initialized",
        )
    return str(ray.get_runtime_context().gcs_address)


def resolve_namespace(namespace: str | None) -> str:
    """The namespace to use: ``namespace``, else the driver's own, else ``"default"``.

    The driver's namespace is used when it has a name (``iog_jupyter.connect()`` gives
    ``nb-<user>``, ``ray.init(namespace=...)`` the one given). A bare ``ray.init()`` makes an
    anonymous namespace (a random UUID) that no other kernel could name, so it is never used.
    Without ``namespace`` it needs Ray initialized (:class:`RayUnavailableError` otherwise).
    """
    if namespace is not None:
        return namespace
    _driver_gcs()
    import ray

    current = str(ray.get_runtime_context().namespace or "")
    try:
        uuid.UUID(current)
    except ValueError:
        return current or DEFAULT_NAMESPACE
    return DEFAULT_NAMESPACE


def _gcs_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    gcs = _driver_gcs()
    try:
        return fn(gcs, *args, **kwargs)
    except _ray_compat.gcs_errors() as err:
        raise RayUnavailableError(
            f"Ray's GCS at {gcs} did not answer ({type(err).__name__}); retry when it is back."
        ) from None


def _template(class_name: str = "", ttl_s: float | None = None) -> ActorMeta:
    """The record of an actor this kernel makes or adopts: its user, kernel and notebook."""
    created = now_ms()
    return ActorMeta(
        namespace="",
        name="",
        actor_id="",
        class_name=class_name,
        owner=current_user(),
        kernel_id=kernel_id(),
        notebook=notebook_path()[0],
        created_ms=created,
        ttl_s=ttl_s,
        expires_ms=None if ttl_s is None else created + int(ttl_s * 1000),
    )


def get_or_create(
    cls: Any,
    name: str,
    namespace: str | None = None,
    ttl_s: float | None = None,
    *,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """The detached actor ``name`` in ``namespace``, created from ``cls`` if none is alive.

    Safe when several kernels race: Ray creates one actor and every caller gets a handle to it
    (``get_if_exists=True``), and iog's record is written by the first caller only, so the owner
    and TTL are those of whoever created it.

    Args:
        cls: A ``@ray.remote`` class, or a plain class (made remote here).
        name: The actor's name.
        namespace: Its Ray namespace; None: see :func:`resolve_namespace`.
        ttl_s: Seconds until the server's reaper kills it, counted from the last
            :func:`touch`; None: it lives until killed.
        args: Positional arguments of the class's constructor.
        kwargs: Keyword arguments of the class's constructor.
        **options: Ray actor options (``num_gpus=1``, ``resources=...``, ...).

    Raises:
        RayUnavailableError: Ray is not initialized in this kernel.
        ValidationError: A bad name, namespace, TTL or option.
        ForbiddenError: The namespace is Ray's or iog's own.
    """
    check_name(name, "name")
    if namespace is not None:
        check_name(namespace, "namespace")
    ttl_s = check_ttl(ttl_s)
    clash = sorted(_RESERVED_OPTIONS & set(options))
    if clash:
        raise ValidationError(f"get_or_create sets {clash[0]!r} itself; leave it out of options.")
    _driver_gcs()
    namespace = resolve_namespace(namespace)
    check_target(namespace, name)
    import ray

    remote_cls = cls if hasattr(cls, "options") and hasattr(cls, "remote") else ray.remote(cls)
    handle = remote_cls.options(
        name=name, namespace=namespace, lifetime="detached", get_if_exists=True, **options
    ).remote(*args, **(kwargs or {}))
    data = _gcs_call(_ray_compat.named_actor, name, namespace, TIMEOUT_S)
    if data is None:
        raise NotFoundError(
            f"Actor {name!r} in namespace {namespace!r} died right after it was created; "
            "check its constructor."
        )
    meta = _template(data.class_name, ttl_s)
    meta.namespace, meta.name, meta.actor_id = namespace, name, data.actor_id.hex()
    _gcs_call(record_actor, meta, TIMEOUT_S)
    return handle


def attach(name: str, namespace: str | None = None) -> Any:
    """A handle to the live actor ``name`` in ``namespace`` (made by any kernel).

    Raises:
        RayUnavailableError: Ray is not initialized in this kernel.
        NotFoundError: No live actor has this name there.
    """
    check_name(name, "name")
    _driver_gcs()
    namespace = resolve_namespace(namespace)
    check_name(namespace, "namespace")
    import ray

    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        raise NotFoundError(
            f"No live actor is named {name!r} in namespace {namespace!r}; "
            "list_detached() shows those that exist.",
            reason="actor_not_found",
        ) from None


def list_detached(namespace: str | None = None) -> list[ActorRecord]:
    """Every live detached actor (in ``namespace`` when given), with owner, TTL and state.

    Ray's and iog's own actors are left out unless ``namespace`` names theirs.
    """
    records: list[ActorRecord] = []
    cursor = None
    while True:
        page = _gcs_call(
            list_actors, TIMEOUT_S, detached=True, namespace=namespace, limit=500, cursor=cursor
        )
        records.extend(page.actors)
        cursor = page.next_cursor
        if not cursor:
            return records


def kill(name: str, namespace: str | None = None) -> ActorRecord:
    """Kill a named actor (no restart) and drop iog's record of it; returns it as it was.

    Raises:
        ForbiddenError: The actor is Ray's or iog's own.
        NotFoundError: No live actor has this name there.
    """
    return _gcs_call(kill_actor, resolve_namespace(namespace), name, TIMEOUT_S)


def touch(name: str, namespace: str | None = None, ttl_s: float | None = None) -> ActorMeta:
    """Extend an actor's life: it now expires ``ttl_s`` (default: its own TTL) from now.

    An actor made without iog (plain Ray) gets a record, owned by you, when ``ttl_s`` is given.
    Returns the updated record (``expires_ms`` is the new expiry).

    Raises:
        ValidationError: No TTL recorded and none given, or a bad ``ttl_s``.
        NotFoundError: No live actor has this name there.
    """
    namespace = resolve_namespace(namespace)
    return _gcs_call(touch_actor, namespace, name, TIMEOUT_S, ttl_s, _template())
