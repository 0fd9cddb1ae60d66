"""Actor shapes: named actors joined with iog's records, pages, kills."""

from __future__ import annotations

from pydantic import Field

from .base import ResourceMap, WireModel, iso_field

#: Ray's actor states, in lifecycle order (a newer Ray may report others; they pass through).
ACTOR_STATES = ("DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD")
#: Longest namespace or actor name accepted.
MAX_NAME_CHARS = 256
#: Most actors on one page, and the default page size.
MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class ActorRecord(WireModel):
    """One named actor as iog shows it: Ray's actor table joined with iog's record.

    ``managed`` says whether iog holds a record (owner, TTL) for it; ``protected`` whether iog
    refuses to kill it.
    """

    namespace: str
    name: str
    actor_id: str
    state: str = Field(description=f"Ray's actor state: {', '.join(ACTOR_STATES)}.")
    class_name: str = ""
    detached: bool
    owner: str | None = Field(None, description="Who created it (iog's record).")
    kernel_id: str | None = None
    notebook: str | None = None
    job_id: str | None = None
    pid: int | None = None
    node_id: str | None = None
    created_ms: int | None = None
    ttl_s: float | None = Field(None, description="null: never expires.")
    expires_ms: int | None = None
    resources: ResourceMap = Field(default_factory=dict)
    managed: bool = Field(False, description="iog holds a record of it.")
    protected: bool = Field(False, description="iog refuses to kill it.")

    created = iso_field("created_ms", "``created_ms`` as ISO-8601 UTC.")
    expires = iso_field("expires_ms", "``expires_ms`` as ISO-8601 UTC.")


class ActorPage(WireModel):
    """One page of actors, by namespace then name, with an opaque cursor for the next page."""

    actors: list[ActorRecord]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    total: int | None = Field(
        description=(
            "Named actors in the list without `detached` and `state` filters (exact, from the "
            "names). null when `detached` or `state` is set: counting those would read every "
            "actor, so a filtered page reads only as far as it needs (walk `next_cursor`)."
        )
    )


class ActorKillReply(WireModel):
    """``DELETE actors/{namespace}/{name}``."""

    namespace: str
    name: str
    killed: bool
    actor: ActorRecord | None = None


class ActorListQuery(WireModel):
    """Query of ``GET actors``."""

    detached: bool | None = Field(
        None, description="true: only detached actors; false: only non-detached named actors."
    )
    namespace: str | None = Field(
        None, min_length=1, max_length=MAX_NAME_CHARS, description="Only this namespace."
    )
    state: str | None = Field(
        None, description=f"Comma-separated states to keep ({', '.join(ACTOR_STATES)})."
    )
    prefix: str | None = Field(
        None, min_length=1, max_length=MAX_NAME_CHARS, description="Only names starting so."
    )
    limit: int = Field(
        DEFAULT_LIMIT,
        ge=1,
        le=MAX_LIMIT,
        description=f"Actors per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
    )
    cursor: str | None = Field(
        None, max_length=1200, description="next_cursor of the previous page."
    )
