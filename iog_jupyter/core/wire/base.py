"""What every wire model shares: the base class, time formatting, common field types."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

#: A map of resource name to amount (``{"CPU": 4, "GPU": 1}``).
ResourceMap = dict[str, float]
#: An ISO-8601 UTC time with a ``Z`` suffix, beside the ``*_ms`` field it is derived from.
IsoTime = Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]


class WireModel(BaseModel):
    """Base of every shape that crosses the wire (REST bodies, answers, websocket messages).

    ``model_dump(mode="json")`` is the JSON on the wire. In the OpenAPI document an answer's
    fields are all required (a field with a default is always sent), so generated client types
    need no optional checks.
    """

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


def iso_from_ms(timestamp_ms: int | None) -> str | None:
    """Format epoch milliseconds as an ISO-8601 UTC string with a ``Z`` suffix (None for None)."""
    if timestamp_ms is None:
        return None
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_field(ms_field: str, description: str, zero_is_null: bool = True) -> Any:
    """A computed field: the ``*_ms`` field ``ms_field`` as ISO-8601 UTC (see :data:`IsoTime`)."""

    def iso(self: BaseModel) -> str | None:
        ms = getattr(self, ms_field)
        return iso_from_ms((ms or None) if zero_is_null else ms)

    return computed_field(property(iso), return_type=IsoTime, description=description)


class Error(WireModel):
    """Every 4xx/5xx answer: what went wrong and what to do, and a stable reason word."""

    message: str
    reason: str | None = None
