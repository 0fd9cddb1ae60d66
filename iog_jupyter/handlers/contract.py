"""The REST contract's machinery: a route's description, query validation, the OpenAPI document.

Each route of the extension is one :class:`Route` in ``routes.ROUTES``: its path, handler, auth
resource, and per verb an :class:`Operation` naming the query, body and answer models of
``core.wire``. That table registers the handlers, validates every query (:func:`parse_query`)
and is the OpenAPI document (:func:`openapi_document`), whose component schemas pydantic
generates from the same models. Nothing here is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pydantic.json_schema import models_json_schema

from .._version import __version__
from ..core.errors import ValidationError
from ..core.wire import Error, WireModel
from ..core.wire.base import refusal

#: The REST prefix, below the server's base_url. The frontend's tokens.ts has the same string.
API_PREFIX = "iog/api/v1"
#: Query parameters Jupyter itself reads; every route accepts them.
JUPYTER_QUERY = frozenset({"token", "_xsrf"})
#: What the errors every operation may answer mean.
COMMON_ERRORS = {
    400: "Bad input: the message says what to change.",
    403: "Not authenticated, or not authorized for this resource.",
}


@dataclass(frozen=True)
class Operation:
    """One verb of a route.

    Attributes:
        summary: What it does, for the document.
        answer: The model of the success body (None: no JSON body, e.g. a websocket).
        status: The success status (201 for creations, 101 for websockets).
        query: The query model (None: the route takes no query parameters).
        body: The JSON body model, or a content type for raw bodies (``application/zip``).
        errors: Error statuses beyond 400/403, with what each means here.
        messages: For a websocket, the models of the messages the server sends.
    """

    summary: str
    answer: type[WireModel] | None = None
    status: int = 200
    query: type[WireModel] | None = None
    body: type[WireModel] | str | None = None
    errors: Mapping[int, str] = field(default_factory=dict)
    messages: Sequence[type[WireModel]] = ()


@dataclass(frozen=True)
class Route:
    """One path of the API: its handler, the resource Jupyter's Authorizer checks, its verbs."""

    path: str
    handler: type
    resource: str
    ops: Mapping[str, Operation]
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def pattern(self) -> str:
        """The tornado pattern below ``API_PREFIX`` (``{name}`` becomes a named group)."""
        parts = re.split(r"\{(\w+)\}", self.path.lstrip("/"))
        return "".join(
            f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
        )


def parse_query(model: type[WireModel] | None, arguments: Mapping[str, list[bytes]]) -> Any:
    """Validate a request's query against ``model`` (the last value of each parameter counts).

    Empty values count as absent. Jupyter's own ``token`` and ``_xsrf`` are always accepted.

    Returns:
        The model instance (None when the route takes no query).

    Raises:
        ValidationError: An unknown parameter or a bad value, named with what to send instead.
    """
    known = tuple(model.model_fields) if model is not None else ()
    unknown = sorted(set(arguments) - set(known) - JUPYTER_QUERY)
    if unknown:
        expected = ", ".join(known) if known else "none"
        raise ValidationError(
            f"Unknown query parameter {unknown[0][:40]!r}; this route accepts: {expected}."
        )
    if model is None:
        return None
    values = {name: raw[-1].decode("utf-8", "replace") for name, raw in arguments.items() if raw}
    values = {name: value for name, value in values.items() if value and name in known}
    try:
        return model.model_validate(values)
    except PydanticValidationError as error:
        raise ValidationError(refusal(model, error, "Query parameter {!r}")) from None


def _reference(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(model: type[WireModel] | None, description: str) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    return {
        "description": description,
        "content": {"application/json": {"schema": _reference(model.__name__)}},
    }


def _parameters(route: Route, op: Operation) -> list[dict[str, Any]]:
    found = [(name, "path", text, {"type": "string"}) for name, text in route.params.items()]
    if op.query is not None:
        for name, prop in op.query.model_json_schema()["properties"].items():
            schema = {k: v for k, v in prop.items() if k not in ("description", "title", "default")}
            found.append((name, "query", prop.get("description", ""), schema))
    return [
        {"name": n, "in": where, "required": where == "path", "description": text, "schema": schema}
        for n, where, text, schema in found
    ]


def _operation(route: Route, method: str, op: Operation) -> dict[str, Any]:
    success = "Switching protocols (a WebSocket upgrade)." if op.status == 101 else "Success."
    responses: dict[str, Any] = {str(op.status): _json(op.answer, success)}
    for status, text in {**COMMON_ERRORS, **op.errors}.items():
        responses[str(status)] = _json(Error, text)
    out: dict[str, Any] = {
        "summary": op.summary,
        "x-iog-auth": {
            "resource": route.resource,
            "action": "read" if method == "get" else "write",
        },
        "responses": responses,
    }
    params = _parameters(route, op)
    if params:
        out["parameters"] = params
    if op.body is not None:  # a model (JSON), or the content type of a raw body
        raw = isinstance(op.body, str)
        schema = {"type": "string", "format": "binary"} if raw else _reference(op.body.__name__)
        media = op.body if raw else "application/json"
        out["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
    if op.messages:
        out["x-websocket"] = True
        out["x-iog-messages"] = [_reference(m.__name__) for m in op.messages]
    return out


def component_schemas(routes: Sequence[Route]) -> dict[str, Any]:
    """The JSON schemas of every model the routes name (bodies as input, the rest as output)."""
    pairs: list[tuple[type[WireModel], Any]] = [(Error, "serialization")]
    for route in routes:
        for op in route.ops.values():
            if op.answer is not None:
                pairs.append((op.answer, "serialization"))
            if op.body is not None and not isinstance(op.body, str):
                pairs.append((op.body, "validation"))
            pairs.extend((m, "serialization") for m in op.messages)
    unique = list(dict.fromkeys(pairs))
    _, schema = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    return dict(sorted(schema["$defs"].items()))


def openapi_document(routes: Sequence[Route], base_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` for a server mounted at ``base_url``."""
    paths = {
        route.path: {method: _operation(route, method, op) for method, op in route.ops.items()}
        for route in routes
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iog_jupyter",
            "version": __version__,
            "description": "Ray cluster resources through the authenticated Jupyter server.",
        },
        "servers": [{"url": base_url.rstrip("/") + "/" + API_PREFIX}],
        "security": [{"JupyterToken": []}],
        "paths": paths,
        "components": {
            "schemas": component_schemas(routes),
            "securitySchemes": {
                "JupyterToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`token <Jupyter token>`, or the Jupyter login cookie.",
                }
            },
        },
    }
