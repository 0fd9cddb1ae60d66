"""``GET openapi.json``: an OpenAPI 3 document describing every route of the extension."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from .base import API_PREFIX, IogAPIHandler

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
                },
            },
            "jobs_backend": {"type": ["string", "null"]},
            "last_error": {"type": ["string", "null"]},
            "last_update": {"type": ["string", "null"], "format": "date-time"},
            "refresh_interval_s": {"type": "number"},
            "subscribers": {"type": "integer"},
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
    operation: dict[str, Any] = {
        "summary": summary,
        "x-iog-auth": {"resource": resource, "action": "read"},
        "responses": {"200": ok, **_ERRORS},
    }
    operation.update(extra)
    return {"get": operation}


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
    "/openapi.json": _get(
        "This document.",
        "iog:cluster",
        {"description": "The OpenAPI 3 document.", "content": {"application/json": {}}},
    ),
}
PATHS["/cluster"]["get"]["responses"]["503"] = _json(
    _ref("Error"), "Ray is unreachable: where iog looked and how to start Ray."
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
