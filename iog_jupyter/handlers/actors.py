"""REST handlers for named and detached actors: ``GET actors`` and ``DELETE actors/{ns}/{name}``."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.actor_meta import DEFAULT_LIMIT, MAX_LIMIT
from ..core.errors import ValidationError
from .base import IogAPIHandler

ACTORS_RESOURCE = "iog:actors"
MAX_CURSOR_CHARS = 1200
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


class ActorsAPIHandler(IogAPIHandler):
    """Base of the actor handlers (resource ``iog:actors``)."""

    auth_resource = ACTORS_RESOURCE

    async def prepare(self) -> None:  # type: ignore[override]
        """Make sure the TTL reaper runs (the server starts it; this covers embedded servers)."""
        await super().prepare()
        self.iog.actor_reaper.start()


class ActorsHandler(ActorsAPIHandler):
    """``GET actors?detached=&namespace=&state=&limit=&cursor=``: named actors, one page."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return one page of named actors with owner, created time, TTL and expiry.

        Ray's internal and system actors are left out unless ``namespace`` names theirs.
        """
        self.reject_unknown_query(("detached", "namespace", "state", "limit", "cursor"))
        detached = self._detached()
        namespace = self.get_query_argument("namespace", None) or None
        states = self._states()
        limit = self.get_int_query("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        cursor = self.get_query_argument("cursor", None) or None
        if cursor is not None and len(cursor) > MAX_CURSOR_CHARS:
            raise ValidationError("Query parameter 'cursor' is too long; pass next_cursor back.")
        registry = self.iog.actor_registry
        page = await self.run_blocking(
            lambda: registry.list(
                detached=detached, namespace=namespace, states=states, limit=limit, cursor=cursor
            )
        )
        self.write_json(page.to_dict())

    def _detached(self) -> bool | None:
        raw = (self.get_query_argument("detached", "") or "").strip().lower()
        if not raw:
            return None
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise ValidationError(
            f"Query parameter 'detached' must be true or false, not {raw[:20]!r}.",
            reason="bad_detached",
        )

    def _states(self) -> frozenset[str] | None:
        raw = self.get_query_argument("state", None)
        if not raw:
            return None
        wanted = frozenset(part.strip().upper() for part in raw.split(",") if part.strip())
        return wanted or None


class ActorHandler(ActorsAPIHandler):
    """``DELETE actors/{namespace}/{name}``: kill one actor (no restart). Audited."""

    @web.authenticated
    @authorized
    async def delete(self, namespace: str, name: str) -> None:
        """Kill the actor; 403 for Ray's, iog's and protected namespaces, 404 when unknown."""
        with self.audited("actor.kill", f"{namespace[:100]}/{name[:150]}"):
            self.reject_unknown_query()
            registry = self.iog.actor_registry
            record = await self.run_blocking(registry.kill, namespace, name)
        reply = {"namespace": namespace, "name": name, "killed": True}
        self.write_json({**reply, "actor": record.to_dict()})


default_handlers = [
    (r"actors", ActorsHandler),
    (r"actors/(?P<namespace>[^/]+)/(?P<name>[^/]+)", ActorHandler),
]
