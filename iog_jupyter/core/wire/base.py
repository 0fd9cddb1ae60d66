"""What every wire model shares: the base class, time formatting, common field types."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic import ValidationError as PydanticValidationError

#: A submission id (and a pool or stage name): what Ray and the URL paths accept.
SUBMISSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: The same, in the words of a refusal.
SUBMISSION_ID_RULE = "1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
#: What a value of each pydantic type error should have been (see :func:`refusal`).
_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "an object",
}

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


def fmt_seconds(seconds: float) -> str:
    """Seconds as ``42 s``, ``12 min`` or ``3.5 h``."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


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


def refusal(model: type[BaseModel], error: PydanticValidationError, label: str = "{}") -> str:
    """One sentence for the first problem pydantic found validating ``model``.

    It names the field (``label`` formats its name, as ``"Query parameter {!r}"``; an entry of a
    map is ``name['key']``), what was sent and what is accepted. Unknown fields are all named.
    """
    problems = error.errors()
    extra = sorted(str(p["loc"][0])[:64] for p in problems if p["type"] == "extra_forbidden")
    if extra:
        known = ", ".join(sorted(model.model_fields))
        return f"Unknown field(s): {', '.join(extra)}. Known fields: {known}."
    problem = problems[0]
    name, *keys = problem["loc"] or ("?",)
    where = label.format(name) + "".join(f"[{str(k)[:64]!r}]" for k in keys if k != "[key]")
    if keys[-1:] == ["[key]"]:
        where = f"{label.format(name)} key {str(keys[0])[:64]!r}"
    kind, ctx, sent = problem["type"], problem.get("ctx", {}), problem["input"]
    if kind == "missing":
        return f"{where} is required."
    if kind == "string_pattern_mismatch" and ctx["pattern"] == SUBMISSION_ID_PATTERN:
        return f"{where} must be {SUBMISSION_ID_RULE}, not {sent!r:.40}."
    if kind in _EXPECTED:  # an object's content is not echoed (runtime_env may hold secrets)
        shown = type(sent).__name__ if kind == "dict_type" else f"{sent!r:.40}"
        return f"{where} must be {_EXPECTED[kind]}, not {shown}."
    if kind in ("greater_than_equal", "less_than_equal"):
        schema = model.model_json_schema()["properties"][name]
        bounds = schema.get("anyOf", [schema])[0]
        bounds = bounds.get("additionalProperties", bounds) if keys else bounds
        low, high = bounds.get("minimum"), bounds.get("maximum")
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        return f"{where} must be {span}, not {sent!s:.40}."
    if kind == "string_too_long":
        return f"{where} must be at most {ctx['max_length']} characters, not {len(sent)}."
    if kind == "string_too_short":
        return f"{where} must be {ctx['min_length']} or more characters, not {len(sent)}."
    if kind == "too_long":
        return f"{where} has {len(sent)} entries; at most {ctx['max_length']}."
    detail = str(ctx.get("error") or problem["msg"])
    return f"{where}: {detail}"
