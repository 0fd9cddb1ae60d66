"""REST handlers for named and detached actors: ``GET actors`` and ``DELETE actors/{ns}/{name}``."""

from __future__ import annotations

import functools

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.actors.records import parse_states
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
        # The query's other fields are the registry's filters, by the same names.
        filters = query.model_dump(exclude={"state"})
        states = parse_states(query.state)
        list_page = functools.partial(self.iog.actor_registry.list, states=states, **filters)
        self.write_json(await self.run_blocking(list_page))


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
        self.write_json(ActorKillReply(namespace=namespace, name=name, killed=True, actor=record))
