"""Walk tornado's routers to find the routes the running server registered for iog."""

from __future__ import annotations

import re
from typing import Any

from tornado.routing import Rule, RuleRouter


def _walk(router: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for rule in getattr(router, "rules", []):
        if isinstance(rule.target, RuleRouter):
            found.extend(_walk(rule.target))
        elif isinstance(rule, Rule) and hasattr(rule.matcher, "regex"):
            found.append((rule.matcher.regex.pattern, rule.target))
    return found


def iog_routes(serverapp: Any) -> list[tuple[str, type]]:
    """(path below iog/api/v1 or the full pattern for other iog routes, handler class)."""
    found = []
    for pattern, target in _walk(serverapp.web_app.default_router):
        if "/iog/" in pattern:
            found.append((pattern.rstrip("$"), target))
    return found


def api_path(pattern: str) -> str:
    """``/base/iog/api/v1/jobs/(?P<submission_id>[^/]+)`` -> ``/jobs/{submission_id}``."""
    path = re.sub(r"\\(.)", r"\1", "/" + pattern.split("/iog/api/v1/", 1)[1])  # unescape
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)


#: Harmless, well-formed values for the path parameters of the documented routes.
SAMPLE_PATH_VALUES = {
    "submission_id": "some-job",
    "session_id": "01000000",
    "namespace": "team",
    "name": "x",
}


def concrete_path(path: str) -> str:
    """``/jobs/{submission_id}/stop`` -> ``jobs/some-job/stop`` (see SAMPLE_PATH_VALUES)."""
    return path.format(**SAMPLE_PATH_VALUES).lstrip("/")
