"""``GET openapi.json``: an OpenAPI 3 document describing every route of the extension."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from .base import API_PREFIX, IogAPIHandler
from .openapi_actors import actor_openapi
from .openapi_sessions import session_openapi

_NUM_MAP = {"type": "object", "additionalProperties": {"type": "number"}}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_NUM = {"type": ["number", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Bad input: the message says what to change."),
    "403": _json(_ref("Error"), "Not authenticated, or not authorized for this resource."),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}, "reason": {"type": ["string", "null"]}},
    },
    "Status": {
        "type": "object",
        "required": ["version", "ray", "last_error"],
        "properties": {
            "version": {"type": "string"},
            "ray": {
                "type": "object",
                "required": ["connected", "address", "auth_mode"],
                "properties": {
                    "connected": {"type": "boolean"},
                    "address": {"type": "string"},
                    "address_source": {"type": "string"},
                    "auth_mode": {"type": "string"},
                    "token_source": {"type": "string"},
                    "dashboard": {"type": ["string", "null"]},
                    "version": {"type": "string", "description": "The installed Ray's version."},
                    "capabilities": {"$ref": "#/components/schemas/RayCapabilities"},
                },
            },
            "jobs_backend": {"type": ["string", "null"]},
            "last_error": {"type": ["string", "null"]},
            "last_update": {"type": ["string", "null"], "format": "date-time"},
            "refresh_interval_s": {"type": "number"},
            "subscribers": {"type": "integer"},
        },
    },
    "RayCapabilities": {
        "type": "object",
        "description": "What the installed Ray can do; `notes` says what degrades on it.",
        "required": ["version", "token_auth", "node_labels", "notes"],
        "properties": {
            "version": {"type": "string"},
            "token_auth": {"type": "boolean"},
            "node_labels": {"type": "boolean"},
            "job_label_selector": {"type": "boolean"},
            "job_auth_error": {"type": "boolean"},
            "task_state_filters": {"type": "boolean"},
            "node_selectors": {"type": "boolean"},
            "node_session_dir": {"type": "boolean"},
            "owner_cancel_rpc": {"type": ["string", "null"]},
            "job_storage_timeout": {"type": "boolean"},
            "job_storage_aio": {"type": "boolean"},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
    "GpuUsage": {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "name": {"type": "string"},
            "utilization_percent": _NULLABLE_NUM,
            "memory_used_bytes": _NULLABLE_INT,
            "memory_total_bytes": _NULLABLE_INT,
        },
    },
    "NodeUsage": {
        "type": ["object", "null"],
        "properties": {
            "cpu_percent": _NULLABLE_NUM,
            "memory_used_bytes": _NULLABLE_INT,
            "memory_total_bytes": _NULLABLE_INT,
            "object_store_used_bytes": _NULLABLE_INT,
            "num_workers": _NULLABLE_INT,
            "gpus": {"type": "array", "items": _ref("GpuUsage")},
        },
    },
    "Node": {
        "type": "object",
        "required": ["node_id", "state", "pool", "resources_total", "resources_available"],
        "properties": {
            "node_id": {"type": "string"},
            "node_name": {"type": "string"},
            "node_ip": {"type": "string"},
            "is_head": {"type": "boolean"},
            "state": {"type": "string", "enum": ["ACTIVE", "IDLE", "PENDING", "DEAD"]},
            "pool": {"type": "string"},
            "labels": _STR_MAP,
            "resources_total": _NUM_MAP,
            "resources_available": _NUM_MAP,
            "idle_ms": _NULLABLE_INT,
            "usage": _ref("NodeUsage"),
        },
    },
    "ResourceDemand": {
        "type": "object",
        "properties": {
            "bundle": _NUM_MAP,
            "count": {"type": "integer"},
            "kind": {"type": "string"},
            "infeasible": {"type": "boolean"},
            "pool": {"type": ["string", "null"]},
            "reason": {"type": "string"},
        },
    },
    "Pool": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "num_nodes": {"type": "integer"},
            "node_ids": {"type": "array", "items": {"type": "string"}},
            "totals": _NUM_MAP,
            "available": _NUM_MAP,
        },
    },
    "ClusterSnapshot": {
        "type": "object",
        "required": ["timestamp", "timestamp_ms", "totals", "available", "nodes", "pools"],
        "properties": {
            "timestamp": {"type": "string", "format": "date-time"},
            "timestamp_ms": {"type": "integer"},
            "totals": _NUM_MAP,
            "available": _NUM_MAP,
            "nodes": {"type": "array", "items": _ref("Node")},
            "pending_demands": {"type": "array", "items": _ref("ResourceDemand")},
            "infeasible_demands": {"type": "array", "items": _ref("ResourceDemand")},
            "pools": {"type": "array", "items": _ref("Pool")},
        },
    },
    "ClusterHistory": {
        "type": "object",
        "properties": {
            "refresh_interval_s": {"type": "number"},
            "history_length": {"type": "integer"},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "timestamp_ms": {"type": "integer"},
                        "totals": _NUM_MAP,
                        "available": _NUM_MAP,
                        "num_nodes": {"type": "integer"},
                    },
                },
            },
        },
    },
}


def _get(summary: str, resource: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"get": _operation(summary, resource, "read", {"200": ok}, **extra)}


def _operation(
    summary: str, resource: str, action: str, responses: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "x-iog-auth": {"resource": resource, "action": action},
        "responses": {**responses, **_ERRORS},
    }
    operation.update(extra)
    return operation


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_SUBMISSION_ID_PARAM = {
    "name": "submission_id",
    "in": "path",
    "required": True,
    "description": "The job's submission id.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
}
_NOT_FOUND = _json(_ref("Error"), "No job has this submission id.")
_UNAVAILABLE = _json(_ref("Error"), "The jobs backend (Ray) is unreachable; retry later.")
_TOO_LARGE = _json(_ref("Error"), "The request body is over the configured cap; not read.")
_CONFLICT = _json(_ref("Error"), "The request conflicts with the job's state.")
_STATUS_ENUM = {"type": "string", "enum": ["PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"]}

JOB_SCHEMAS: dict[str, Any] = {
    "JobRecord": {
        "type": "object",
        "required": ["submission_id", "status", "entrypoint"],
        "properties": {
            "submission_id": {"type": "string"},
            "status": _STATUS_ENUM,
            "entrypoint": {"type": "string"},
            "message": {"type": ["string", "null"]},
            "owner": {"type": ["string", "null"]},
            "metadata": _STR_MAP,
            "runtime_env": {
                "type": "object",
                "description": "As submitted, with env_vars values redacted.",
            },
            "start_time": {"type": ["string", "null"], "format": "date-time"},
            "start_time_ms": _NULLABLE_INT,
            "end_time": {"type": ["string", "null"], "format": "date-time"},
            "end_time_ms": _NULLABLE_INT,
            "exit_code": _NULLABLE_INT,
            "driver_pid": _NULLABLE_INT,
            "pool": {"type": ["string", "null"]},
            "entrypoint_num_cpus": _NULLABLE_NUM,
            "entrypoint_num_gpus": _NULLABLE_NUM,
            "entrypoint_memory": _NULLABLE_INT,
            "entrypoint_resources": _NUM_MAP,
            "pending_reason": {"type": ["string", "null"]},
            "backend": {"type": "string", "enum": ["ray", "local"]},
        },
    },
    "JobPage": {
        "type": "object",
        "required": ["jobs", "next_cursor", "total"],
        "properties": {
            "jobs": {"type": "array", "items": _ref("JobRecord")},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
            "total": {"type": "integer", "description": "Jobs matching the filter."},
        },
    },
    "LogPage": {
        "type": "object",
        "required": ["submission_id", "text", "offset", "next_offset", "eof"],
        "properties": {
            "submission_id": {"type": "string"},
            "text": {"type": "string", "description": "The log's bytes [offset, next_offset)."},
            "offset": {"type": "integer"},
            "next_offset": {"type": "integer"},
            "eof": {"type": "boolean", "description": "The job ended and the log is all read."},
        },
    },
    "SubmitRequest": {
        "type": "object",
        "required": ["entrypoint"],
        "additionalProperties": False,
        "properties": {
            "entrypoint": {"type": "string", "description": "Shell command run as the driver."},
            "submission_id": _SUBMISSION_ID_PARAM["schema"],
            "runtime_env": {
                "type": "object",
                "description": (
                    "Allowlisted keys only (working_dir from POST packages or a directory under "
                    "the server's root; env_vars; pip; conda; ...). Refused: container, "
                    "image_uri, py_executable, worker_process_setup_hook, remote URIs."
                ),
            },
            "metadata": _STR_MAP,
            "entrypoint_num_cpus": {"type": "number", "minimum": 0},
            "entrypoint_num_gpus": {"type": "number", "minimum": 0},
            "entrypoint_memory": {"type": "integer", "minimum": 0},
            "entrypoint_resources": _NUM_MAP,
            "pool": {"type": "string", "description": "The node pool to run the driver in."},
        },
    },
    "SubmitReply": {
        "type": "object",
        "required": ["submission_id"],
        "properties": {"submission_id": {"type": "string"}},
    },
    "StopReply": {
        "type": "object",
        "properties": {
            "submission_id": {"type": "string"},
            "stopped": {"type": "boolean", "description": "False: the job had already ended."},
        },
    },
    "DeleteReply": {
        "type": "object",
        "properties": {"submission_id": {"type": "string"}, "deleted": {"type": "boolean"}},
    },
    "PackageReply": {
        "type": "object",
        "required": ["uri"],
        "properties": {"uri": {"type": "string", "description": "Use as runtime_env.working_dir."}},
    },
}
SCHEMAS.update(JOB_SCHEMAS)


PATHS: dict[str, Any] = {
    "/status": _get(
        "Version, Ray connection state, jobs backend and last error.",
        "iog:cluster",
        _json(_ref("Status"), "The server's view of Ray."),
    ),
    "/cluster": _get(
        "The current cluster snapshot (served from the one shared poller's cache).",
        "iog:cluster",
        _json(_ref("ClusterSnapshot"), "Nodes, pools, totals, available and demands."),
    ),
    "/cluster/history": _get(
        "Totals and available resources per poll, from a bounded ring buffer.",
        "iog:cluster",
        _json(_ref("ClusterHistory"), "History points, oldest first."),
        parameters=[
            {
                "name": "since_ms",
                "in": "query",
                "required": False,
                "description": "Only points newer than this epoch time in milliseconds.",
                "schema": {"type": "integer", "minimum": 0},
            }
        ],
    ),
    "/cluster/subscribe": _get(
        "WebSocket: the snapshot on connect, then one message per change "
        '({"type": "snapshot", "data": ...} or {"type": "status", "connected": ...}).',
        "iog:cluster",
        {"description": "Switching protocols (only with a WebSocket upgrade request)."},
        **{"x-websocket": True},
    ),
    "/events/subscribe": _get(
        'WebSocket: {"type": "changed", "topic": ...} when the first page of a topic '
        "(jobs, sessions, actors; query topics=, comma-separated, default all) changed; clients "
        "re-fetch their page. Needs read on each topic's resource (iog:jobs, iog:sessions, "
        "iog:actors).",
        "iog:jobs",
        {"description": "Switching protocols (only with a WebSocket upgrade request)."},
        **{"x-websocket": True},
    ),
    "/openapi.json": _get(
        "This document.",
        "iog:cluster",
        {"description": "The OpenAPI 3 document.", "content": {"application/json": {}}},
    ),
}
PATHS.update(
    {
        "/jobs": {
            "get": _operation(
                "A page of jobs, newest first, filtered by status on the server.",
                "iog:jobs",
                "read",
                {"200": _json(_ref("JobPage"), "One page of jobs."), "503": _UNAVAILABLE},
                parameters=[
                    _query(
                        "status",
                        "Comma-separated statuses to keep (PENDING,RUNNING,...).",
                        {"type": "string"},
                    ),
                    _query(
                        "limit",
                        "Jobs per page (default 50, at most IogJupyterApp.job_list_max_limit).",
                        {"type": "integer", "minimum": 1},
                    ),
                    _query("cursor", "next_cursor of the previous page.", {"type": "string"}),
                ],
            ),
            "post": _operation(
                "Submit a job; the server records its owner (the Jupyter user). Audited.",
                "iog:jobs",
                "write",
                {
                    "201": _json(_ref("SubmitReply"), "Submitted; Location names the job."),
                    "409": _json(_ref("Error"), "A job with this submission_id exists."),
                    "413": _TOO_LARGE,
                    "415": _json(
                        _ref("Error"), "The body was not sent as Content-Type: application/json."
                    ),
                    "503": _UNAVAILABLE,
                },
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SubmitRequest")}},
                },
            ),
        },
        "/jobs/{submission_id}": {
            "get": _operation(
                "One job: status, times, exit code, owner, redacted runtime_env, pending_reason.",
                "iog:jobs",
                "read",
                {
                    "200": _json(_ref("JobRecord"), "The job."),
                    "404": _NOT_FOUND,
                    "503": _UNAVAILABLE,
                },
                parameters=[_SUBMISSION_ID_PARAM],
            ),
            "delete": _operation(
                "Delete an ended job's record and logs for good. Audited.",
                "iog:jobs",
                "write",
                {
                    "200": _json(_ref("DeleteReply"), "Deleted."),
                    "404": _NOT_FOUND,
                    "409": _json(_ref("Error"), "The job is still running: stop it first."),
                    "503": _UNAVAILABLE,
                },
                parameters=[_SUBMISSION_ID_PARAM],
            ),
        },
        "/jobs/{submission_id}/stop": {
            "post": _operation(
                "Stop a job; idempotent on ended jobs. Audited.",
                "iog:jobs",
                "write",
                {
                    "200": _json(_ref("StopReply"), "Stop requested (or already ended)."),
                    "404": _NOT_FOUND,
                    "409": _CONFLICT,
                    "413": _TOO_LARGE,
                    "503": _UNAVAILABLE,
                },
                parameters=[_SUBMISSION_ID_PARAM],
            )
        },
        "/jobs/{submission_id}/logs": {
            "get": _operation(
                "A byte-offset page of the job's log.",
                "iog:jobs",
                "read",
                {
                    "200": _json(_ref("LogPage"), "The page."),
                    "404": _NOT_FOUND,
                    "503": _UNAVAILABLE,
                },
                parameters=[
                    _SUBMISSION_ID_PARAM,
                    _query("offset", "First byte to return.", {"type": "integer", "minimum": 0}),
                    _query(
                        "limit_bytes",
                        "Most bytes to return (at most IogJupyterApp.log_page_max_bytes).",
                        {"type": "integer", "minimum": 1},
                    ),
                ],
            )
        },
        "/jobs/{submission_id}/logs/tail": {
            "get": _operation(
                "WebSocket: the log from `offset` as "
                '{"type": "log", "offset", "next_offset", "text"} messages (contiguous: '
                "reconnect with the last next_offset to resume), then "
                '{"type": "status", "status", "exit_code", "message"} and close.',
                "iog:jobs",
                "read",
                {
                    "101": {"description": "Switching protocols (WebSocket upgrade)."},
                    "404": _NOT_FOUND,
                    "429": _json(_ref("Error"), "Too many open tails for this user."),
                    "503": _UNAVAILABLE,
                },
                parameters=[
                    _SUBMISSION_ID_PARAM,
                    _query("offset", "First byte to send.", {"type": "integer", "minimum": 0}),
                ],
                **{"x-websocket": True},
            )
        },
        "/packages": {
            "post": _operation(
                "Upload a working_dir zip (checked whole: no '..', absolute paths, symlinks, "
                "setuid bits, too many entries or zip bombs). Audited.",
                "iog:jobs",
                "write",
                {
                    "201": _json(_ref("PackageReply"), "Stored."),
                    "413": _TOO_LARGE,
                    "503": _UNAVAILABLE,
                },
                requestBody={
                    "required": True,
                    "content": {
                        "application/zip": {"schema": {"type": "string", "format": "binary"}}
                    },
                },
            )
        },
    }
)
PATHS["/cluster"]["get"]["responses"]["503"] = _json(
    _ref("Error"), "Ray is unreachable: where iog looked and how to start Ray."
)
_ACTOR_SCHEMAS, _ACTOR_PATHS = actor_openapi()
SCHEMAS.update(_ACTOR_SCHEMAS)
PATHS.update(_ACTOR_PATHS)
_SESSION_SCHEMAS, _SESSION_PATHS = session_openapi()
SCHEMAS.update(_SESSION_SCHEMAS)
PATHS.update(_SESSION_PATHS)
SCHEMAS["DoctorReport"] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"enum": ["ok", "warn", "fail"]},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "status", "message"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"enum": ["ok", "warn", "fail"]},
                    "message": {"type": "string"},
                    "fix": {"type": ["string", "null"]},
                },
            },
        },
    },
}
PATHS["/doctor"] = _get(
    "Security and health checks of Ray and this Jupyter server, each with a fix (read-only).",
    "iog:cluster",
    _json(_ref("DoctorReport"), "Every check; status is the worst of them."),
)


def openapi_document(base_url: str = "/") -> dict[str, Any]:
    """Build the OpenAPI 3.1 document for a server mounted at ``base_url``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iog_jupyter",
            "version": __version__,
            "description": "Ray cluster resources through the authenticated Jupyter server.",
        },
        "servers": [{"url": base_url.rstrip("/") + "/" + API_PREFIX}],
        "security": [{"JupyterToken": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
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


class OpenAPIHandler(IogAPIHandler):
    """``GET openapi.json``: the contract, for clients, docs and fuzzers."""

    auth_resource = "iog:cluster"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return the OpenAPI document."""
        self.reject_unknown_query()
        self.write_json(openapi_document(self.base_url))


default_handlers = [(r"openapi\.json", OpenAPIHandler)]
