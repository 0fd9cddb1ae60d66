"""The OpenAPI description of the session routes (``GET sessions``, ``POST .../release``)."""

from __future__ import annotations

from typing import Any


def session_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The session schemas and paths, built with :mod:`.openapi`'s helpers.

    Returns:
        ``(schemas, paths)`` to merge into the document's components and paths.
    """
    from .openapi import _json, _operation, _ref

    nullable_int = {"type": ["integer", "null"]}
    nullable_num = {"type": ["number", "null"]}
    nullable_str = {"type": ["string", "null"]}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    num_map = {"type": "object", "additionalProperties": {"type": "number"}}
    schemas = {
        "SessionPolicyState": {
            "type": "object",
            "properties": {
                "state": {
                    "type": "string",
                    "enum": ["off", "not_applicable", "active", "warned", "due", "released"]
                    + ["exempt"],
                },
                "idle_since_ms": nullable_int,
                "warn_at_ms": nullable_int,
                "release_at_ms": nullable_int,
                "keep_alive_until_ms": nullable_int,
                "message": {**nullable_str, "description": "The warning, in words."},
            },
        },
        "SessionRecord": {
            "type": "object",
            "required": ["session_id", "kind", "driver_pid", "resources", "actors", "policy"],
            "properties": {
                "session_id": {"type": "string", "description": "The driver's Ray job id."},
                "job_id": {"type": "string"},
                "kind": {"type": "string", "enum": ["notebook", "job", "script"]},
                "driver_pid": {"type": "integer"},
                "driver_ip": {"type": "string"},
                "namespace": {"type": "string"},
                "owner": {**nullable_str, "description": "The user connect() recorded."},
                "kernel_id": nullable_str,
                "notebook_path": nullable_str,
                "attributed_by": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["metadata", "pid"]},
                },
                "local_kernel": {
                    "type": "boolean",
                    "description": "The driver is a kernel of this Jupyter server.",
                },
                "execution_state": nullable_str,
                "last_activity": nullable_time,
                "last_activity_ms": nullable_int,
                "start_time": nullable_time,
                "start_time_ms": nullable_int,
                "resources": {
                    **num_map,
                    "description": "Held by its live actors and running tasks (CPU, GPU, memory).",
                },
                "actors": {"type": "integer", "description": "Live non-detached actors."},
                "detached_actors": {"type": "integer"},
                "running_tasks": {"type": "integer"},
                "idle_s": {**nullable_num, "description": "Null for non-kernels of this server."},
                "policy": _ref("SessionPolicyState"),
            },
        },
        "SessionList": {
            "type": "object",
            "required": ["sessions", "policy"],
            "properties": {
                "sessions": {"type": "array", "items": _ref("SessionRecord")},
                "policy": {
                    "type": "object",
                    "properties": {
                        "enabled": {"type": "boolean"},
                        "warn_after_s": nullable_num,
                        "release_after_s": nullable_num,
                        "release_resources": {"type": "array", "items": {"type": "string"}},
                        "keep_alive_max_s": {"type": "number"},
                        "check_interval_s": {"type": "number"},
                    },
                },
            },
        },
        "ReleaseReply": {
            "type": "object",
            "properties": {
                "session_id": {"type": "string"},
                "killed_actors": {"type": "array", "items": {"type": "string"}},
                "cancelled_tasks": {"type": "integer"},
                "kept_detached_actors": {"type": "integer"},
                "kept_other_actors": {"type": "integer"},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    unavailable = _json(_ref("Error"), "Ray is unreachable; retry later.")
    session_id = {
        "name": "session_id",
        "in": "path",
        "required": True,
        "description": "The session's Ray job id (8 hex digits) or its kernel id (a UUID).",
        "schema": {"type": "string"},
    }
    paths = {
        "/sessions": {
            "get": _operation(
                "Live Ray drivers joined with this server's kernels: notebook, kernel state, "
                "resources held, actors, running tasks, idle seconds and idle-policy state.",
                "iog:sessions",
                "read",
                {"200": _json(_ref("SessionList"), "The sessions."), "503": unavailable},
            )
        },
        "/sessions/{session_id}/release": {
            "post": _operation(
                "Kill the session's non-detached actors and cancel its running tasks; "
                "detached actors and other sessions are never touched. Audited.",
                "iog:sessions",
                "write",
                {
                    "200": _json(_ref("ReleaseReply"), "What was released."),
                    "404": _json(_ref("Error"), "No live session has this id."),
                    "503": unavailable,
                },
                parameters=[session_id],
            )
        },
    }
    paths["/sessions/{session_id}/release"]["post"]["responses"]["403"] = _json(
        _ref("Error"),
        "Not authorized; another user's session (reason not_owner: only its owner or a user "
        "granted write on iog:admin may release it); or a driver that is not a kernel of this "
        "server (reason foreign_session, unless IogJupyterApp.sessions_release_foreign). "
        "Nothing is released.",
    )
    return schemas, paths
