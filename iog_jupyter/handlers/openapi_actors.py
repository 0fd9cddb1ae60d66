"""The OpenAPI description of the actor routes (``GET actors``, ``DELETE actors/{ns}/{name}``)."""

from __future__ import annotations

from typing import Any

from ..core.actor_meta import ACTOR_STATES, MAX_LIMIT, MAX_NAME_CHARS


def actor_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The actor schemas and paths, built with :mod:`.openapi`'s helpers.

    Returns:
        ``(schemas, paths)`` to merge into the document's components and paths.
    """
    from .openapi import _json, _operation, _query, _ref

    nullable_int = {"type": ["integer", "null"]}
    nullable_str = {"type": ["string", "null"]}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    name_schema = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS}
    schemas = {
        "ActorRecord": {
            "type": "object",
            "required": ["namespace", "name", "actor_id", "state", "detached"],
            "properties": {
                "namespace": {"type": "string"},
                "name": {"type": "string"},
                "actor_id": {"type": "string"},
                "state": {"type": "string", "enum": list(ACTOR_STATES)},
                "class_name": {"type": "string"},
                "detached": {"type": "boolean"},
                "owner": {**nullable_str, "description": "Who created it (iog's record)."},
                "kernel_id": nullable_str,
                "notebook": nullable_str,
                "job_id": nullable_str,
                "pid": nullable_int,
                "node_id": nullable_str,
                "created": nullable_time,
                "created_ms": nullable_int,
                "ttl_s": {"type": ["number", "null"], "description": "null: never expires."},
                "expires": nullable_time,
                "expires_ms": nullable_int,
                "resources": {"type": "object", "additionalProperties": {"type": "number"}},
                "managed": {"type": "boolean", "description": "iog holds a record of it."},
                "protected": {"type": "boolean", "description": "iog refuses to kill it."},
            },
        },
        "ActorPage": {
            "type": "object",
            "required": ["actors", "next_cursor", "total"],
            "properties": {
                "actors": {"type": "array", "items": _ref("ActorRecord")},
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` for the next page; null on the last page.",
                },
                "total": {"type": "integer", "description": "Actors matching the filters."},
            },
        },
        "ActorKillReply": {
            "type": "object",
            "required": ["namespace", "name", "killed"],
            "properties": {
                "namespace": {"type": "string"},
                "name": {"type": "string"},
                "killed": {"type": "boolean"},
                "actor": _ref("ActorRecord"),
            },
        },
    }
    unavailable = _json(_ref("Error"), "Ray's GCS is unreachable; retry later.")
    paths = {
        "/actors": {
            "get": _operation(
                "Named actors with owner, created time, TTL and expiry, by namespace then name. "
                "Cost is flat in the number of dead or pending actors in Ray's table. Ray's "
                "internal and protected namespaces are left out unless `namespace` names one.",
                "iog:actors",
                "read",
                {"200": _json(_ref("ActorPage"), "One page of actors."), "503": unavailable},
                parameters=[
                    _query(
                        "detached",
                        "true: only detached actors; false: only non-detached named actors.",
                        {"type": "boolean"},
                    ),
                    _query("namespace", "Only this namespace.", name_schema),
                    _query(
                        "state",
                        f"Comma-separated states to keep ({', '.join(ACTOR_STATES)}).",
                        {"type": "string"},
                    ),
                    _query(
                        "limit",
                        f"Actors per page (default 100, at most {MAX_LIMIT}).",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    ),
                    _query("cursor", "next_cursor of the previous page.", {"type": "string"}),
                ],
            )
        },
        "/actors/{namespace}/{name}": {
            "delete": _operation(
                "Kill a named actor (no restart) and drop iog's record of it. Audited.",
                "iog:actors",
                "write",
                {
                    "200": _json(_ref("ActorKillReply"), "Killed."),
                    "404": _json(_ref("Error"), "No live actor has this name there."),
                    "503": unavailable,
                },
                parameters=[
                    {
                        "name": "namespace",
                        "in": "path",
                        "required": True,
                        "description": "The actor's Ray namespace (URL-encoded).",
                        "schema": name_schema,
                    },
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "The actor's name (URL-encoded).",
                        "schema": name_schema,
                    },
                ],
            )
        },
    }
    paths["/actors/{namespace}/{name}"]["delete"]["responses"]["403"] = _json(
        _ref("Error"),
        "Not authorized, or a protected actor: Ray's internal ones, job supervisors, iog's "
        "namespace, IogJupyterApp.protected_actor_namespaces. Nothing is changed.",
    )
    return schemas, paths
