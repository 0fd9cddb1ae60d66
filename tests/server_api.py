"""One helper for tests that call iog's REST API through pytest-jupyter's ``jp_fetch``."""

from __future__ import annotations

import json
from typing import Any

from tornado.httpclient import HTTPClientError


async def api(
    jp_fetch, *parts: str, method: str = "GET", body: Any = None, **params: str
) -> tuple[int, Any]:
    """Call ``iog/api/v1/<parts>``; returns (status, decoded body or None), errors included."""
    kwargs: dict[str, Any] = {"method": method, "params": params or None}
    if method == "POST":
        kwargs["body"] = json.dumps(body) if body is not None else ""
        kwargs["headers"] = {"Content-Type": "application/json"}
    try:
        reply = await jp_fetch("iog", "api", "v1", *parts, **kwargs)
    except HTTPClientError as err:
        assert err.response is not None
        return err.code, json.loads(err.response.body or b"{}")
    return reply.code, json.loads(reply.body) if reply.body else None
