"""``WS events/subscribe?topics=jobs,sessions,actors``: push "this list changed" to UIs.

Messages (JSON): ``{"type": "subscribed", "topics": [...]}`` once, then
``{"type": "changed", "topic": "jobs"}`` whenever that topic's first page changed (see
:mod:`iog_jupyter.core.changes`). Clients re-fetch their own page through the REST API, so what
they see stays under the REST routes' authorization; subscribing to a topic needs ``read`` on
its resource (``iog:jobs``, ``iog:sessions``, ``iog:actors``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from tornado import websocket

from ..core.errors import ValidationError
from ..core.wire import ChangedMessage, SubscribedMessage, WireModel
from .base import IogWebSocketHandler

#: The resource each topic's readers need ``read`` on.
TOPIC_RESOURCES = {"jobs": "iog:jobs", "sessions": "iog:sessions", "actors": "iog:actors"}


class EventsSubscribeHandler(IogWebSocketHandler):
    """``WS events/subscribe?topics=``: one ``changed`` message per change of a topic."""

    _topics: list[str]

    async def pre_get(self) -> None:
        """Check the topics and authorize ``read`` on each one's resource, before the upgrade.

        Raises:
            ValidationError: 400 an unknown topic or parameter.
            tornado.web.HTTPError: 403 not authorized.
        """
        raw = self.query().topics or ",".join(TOPIC_RESOURCES)
        topics = list(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
        for topic in topics:
            if topic not in TOPIC_RESOURCES:
                raise ValidationError(
                    f"Unknown topic {topic[:40]!r}; choose from {', '.join(TOPIC_RESOURCES)}."
                )
        if not topics:
            raise ValidationError("Name at least one topic.")
        for topic in topics:
            self.auth_resource = TOPIC_RESOURCES[topic]
            self.auth_description = topic
            await self.authorize("read")
        self._topics = topics

    async def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Subscribe to the app's change feed, wait for its baseline, then confirm the topics.

        ``subscribed`` is sent only once the feed holds a fingerprint of every topic, so a
        client that re-fetches on ``subscribed`` (the Lab sidebar does) cannot miss a change.
        """
        super().open(*args, **kwargs)
        changes = self.iog.changes
        self._unsubscribe = changes.subscribe(self._topics, self._on_change)
        await changes.baseline(self._topics)
        self._send(SubscribedMessage(topics=self._topics))

    def _on_change(self, topic: str) -> None:
        self._send(ChangedMessage(topic=topic))

    def _send(self, message: WireModel) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return  # a closed (or cut-off) socket gets nothing, not even the buffer check
        with contextlib.suppress(websocket.WebSocketClosedError):
            self.write_message(message.model_dump_json())
