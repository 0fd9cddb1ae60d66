"""REST handlers for named and detached actors: ``GET actors`` and ``DELETE actors/{ns}/{name}``."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.wire import ActorKillReply
from .base import IogAPIHandler


class ActorsHandler(IogAPIHandler):
    """``GET actors?detached=&namespace=&state=&limit=&cursor=``: named actors, one page."""

    services = ("monitor", "actor_reaper")

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return one page of named actors with owner, created time, TTL and expiry.

        Ray's internal and system actors are left out unless ``namespace`` names theirs.
        """
        query = self.query()
        states = _states(query.state)
        registry = self.iog.actor_registry
        page = await self.run_blocking(
            lambda: registry.list(
                detached=query.detached,
                namespace=query.namespace,
                states=states,
                limit=query.limit,
                cursor=query.cursor,
                prefix=query.prefix,
            )
        )
        self.write_json(page.model_dump_json())


def _states(raw: str | None) -> frozenset[str] | None:
    wanted = frozenset(part.strip().upper() for part in (raw or "").split(",") if part.strip())
    return wanted or None


class ActorHandler(IogAPIHandler):
    """``DELETE actors/{namespace}/{name}``: kill one actor (no restart). Audited."""

    services = ActorsHandler.services

    @web.authenticated
    @authorized
    async def delete(self, namespace: str, name: str) -> None:
        """Kill the actor; 403 for Ray's, iog's and protected namespaces, 404 when unknown."""
        with self.audited("actor.kill", f"{namespace[:100]}/{name[:150]}"):
            self.query()
            registry = self.iog.actor_registry
            record = await self.run_blocking(registry.kill, namespace, name)
        reply = ActorKillReply(namespace=namespace, name=name, killed=True, actor=record)
        self.write_json(reply.model_dump_json())
