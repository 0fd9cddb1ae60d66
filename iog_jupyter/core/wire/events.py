"""Messages of ``WS events/subscribe``: which lists changed, so clients re-fetch them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import WireModel

Topic = Literal["jobs", "sessions", "actors"]


class EventsQuery(WireModel):
    """Query of ``WS events/subscribe``."""

    topics: str | None = Field(
        None, description="Comma-separated topics (jobs, sessions, actors); default all."
    )


class SubscribedMessage(WireModel):
    """Sent once the server holds a baseline of each topic: re-fetch now, then on ``changed``."""

    type: Literal["subscribed"] = "subscribed"
    topics: list[Topic]


class ChangedMessage(WireModel):
    """The first page of ``topic`` changed: re-fetch it."""

    type: Literal["changed"] = "changed"
    topic: Topic
