"""The route table: every REST and websocket route of the extension, in one place.

Each entry names its handler, the resource Jupyter's Authorizer checks, and per verb the
query, body and answer models (``core.wire``). It registers the handlers (:func:`all_handlers`),
drives query validation (``IogAPIHandler.query``) and is the OpenAPI document
(``GET openapi.json``, and the committed ``openapi.json`` the frontend's types come from).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core import wire
from . import actors, cluster, events, jobs, sessions, streams
from .base import IogAPIHandler
from .contract import API_PREFIX, Operation, Route, openapi_document
from .dashboard import dashboard_handlers


class OpenAPIHandler(IogAPIHandler):
    """``GET openapi.json``: the contract, for clients, docs and fuzzers."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return the OpenAPI document, for this server's base_url."""
        self.query()
        self.write_json(_document_text(self.base_url))


@functools.cache
def _document_text(base_url: str) -> str:
    """The document for one base_url, built once (it depends on nothing else)."""
    return json.dumps(openapi_document(ROUTES, base_url))


_UNAVAILABLE = {503: "Ray is unreachable; retry later."}
_JOB_ID = {"submission_id": "The job's submission id."}
_NO_JOB = {
    404: "No job has this submission id; the message names it and `GET jobs`.",
    **_UNAVAILABLE,
}
_TOO_LARGE = {413: "The request body is over the configured cap; not read."}
_UPGRADE = 101

ROUTES: list[Route] = [
    Route("/status", cluster.StatusHandler, "iog:cluster", {"get": Operation(
        "Version, Ray connection state, jobs backend and last error.", wire.Status)}),
    Route("/cluster", cluster.ClusterHandler, "iog:cluster", {"get": Operation(
        "The current cluster snapshot (served from the one shared poller's cache).",
        wire.ClusterSnapshot,
        errors={503: "Ray is unreachable: where iog looked and how to start Ray."})}),
    Route("/cluster/history", cluster.ClusterHistoryHandler, "iog:cluster", {"get": Operation(
        "Totals and available resources per poll, oldest first, from a bounded ring buffer.",
        wire.ClusterHistory, query=wire.HistoryQuery)}),
    Route("/cluster/subscribe", cluster.ClusterSubscribeHandler, "iog:cluster", {"get": Operation(
        "WebSocket: the snapshot on connect, then one message per change (a snapshot, or the "
        "connection status). With deltas=1 a change is a delta (nodes added, removed or changed "
        "by id, and the top-level fields that changed) numbered seq, applying to the snapshot "
        "or delta numbered seq - 1; a snapshot is still sent when it is no larger. Clients may "
        'send {"type": "refresh"} to ask for a poll now, and {"type": "resync"} (after a gap '
        "in seq, or a delta that does not fit) to get the whole snapshot.",
        status=_UPGRADE, query=wire.ClusterSubscribeQuery,
        messages=(wire.SnapshotMessage, wire.StatusMessage, wire.ClusterDeltaMessage))}),
    Route("/events/subscribe", events.EventsSubscribeHandler, "iog:jobs", {"get": Operation(
        "WebSocket: a changed message when the first page of a topic (jobs, sessions, actors) "
        "changed; clients re-fetch that page. Needs read on each topic's resource (iog:jobs, "
        "iog:sessions, iog:actors).",
        status=_UPGRADE, query=wire.EventsQuery,
        messages=(wire.SubscribedMessage, wire.ChangedMessage))}),
    Route("/openapi.json", OpenAPIHandler, "iog:cluster", {"get": Operation(
        "This document.")}),
    Route("/jobs", jobs.JobsHandler, "iog:jobs", {
        "get": Operation(
            "A page of jobs, newest first, filtered by status on the server.",
            wire.JobPage, query=wire.JobListQuery, errors=_UNAVAILABLE),
        "post": Operation(
            "Submit a job; the server records its owner (the Jupyter user). Audited.",
            wire.SubmitReply, status=201, body=wire.SubmitRequest, errors={
                409: "A job with this submission_id exists.", **_TOO_LARGE,
                415: "The body was not sent as Content-Type: application/json.",
                429: "Over the user's job quota.", **_UNAVAILABLE})}),
    Route("/jobs/{submission_id}", jobs.JobHandler, "iog:jobs", params=_JOB_ID, ops={
        "get": Operation(
            "One job: status, times, exit code, owner, redacted runtime_env, pending_reason.",
            wire.JobRecord, errors=_NO_JOB),
        "delete": Operation(
            "Delete an ended job's record and logs for good. Audited.", wire.DeleteReply,
            errors={**_NO_JOB, 409: "The job is still running: stop it first."})}),
    Route("/jobs/{submission_id}/stop", jobs.JobStopHandler, "iog:jobs", params=_JOB_ID, ops={
        "post": Operation(
            "Stop a job; idempotent on ended jobs. Audited.", wire.StopReply,
            errors={**_NO_JOB, **_TOO_LARGE, 409: "The request conflicts with the job's state."})}),
    Route("/jobs/{submission_id}/logs", jobs.JobLogsHandler, "iog:jobs", params=_JOB_ID, ops={
        "get": Operation(
            "A byte-offset page of the job's log.", wire.LogPage, query=wire.LogsQuery,
            errors=_NO_JOB)}),
    Route("/jobs/{submission_id}/logs/tail", streams.JobLogsWebSocketHandler, "iog:jobs",
          params=_JOB_ID, ops={"get": Operation(
            "WebSocket: the log from `offset` as contiguous log messages (reconnect with the "
            "last next_offset to resume), then the job's status, and close.",
            status=_UPGRADE, query=wire.TailQuery,
            messages=(wire.LogMessage, wire.JobStatusMessage, wire.ErrorMessage),
            errors={**_NO_JOB, 429: "Too many open tails for this user."})}),
    Route("/notebook-jobs", jobs.NotebookJobsHandler, "iog:jobs", {"post": Operation(
        "Run a notebook under the Jupyter root as a Ray job (papermill, parameters by the cell "
        "tagged `parameters`), its folder as working_dir; the executed copy is written next to "
        "it as <stem>.<submission_id>.ipynb when the job ends. Audited.",
        wire.NotebookSubmitReply, status=201, body=wire.NotebookSubmitRequest, errors={
            403: "The path is outside the Jupyter root.",
            404: "No notebook at this path.",
            409: "A job with this submission_id exists.", **_TOO_LARGE,
            415: "The body was not sent as Content-Type: application/json.",
            429: "Over the user's job quota.", **_UNAVAILABLE})}),
    Route("/usage", sessions.UsageHandler, "iog:sessions", {"get": Operation(
        "GPU-, CPU- and memory-seconds held per user, session or job in a window, and GPU "
        "utilisation while held, integrated from the samples the server already takes.",
        wire.UsageReport, query=wire.UsageQuery)}),
    Route("/packages", jobs.PackagesHandler, "iog:jobs", {"post": Operation(
        "Upload a working_dir zip (checked whole: no '..', absolute paths, symlinks, setuid "
        "bits, too many entries or zip bombs). Audited.",
        wire.PackageReply, status=201, body="application/zip",
        errors={**_TOO_LARGE, **_UNAVAILABLE})}),
    Route("/actors", actors.ActorsHandler, "iog:actors", {"get": Operation(
        "Named actors with owner, created time, TTL and expiry, by namespace then name. Ray's "
        "internal and protected namespaces are left out unless `namespace` names one.",
        wire.ActorPage, query=wire.ActorListQuery, errors=_UNAVAILABLE)}),
    Route("/actors/{namespace}/{name}", actors.ActorHandler, "iog:actors", params={
        "namespace": "The actor's Ray namespace (URL-encoded).",
        "name": "The actor's name (URL-encoded)."}, ops={"delete": Operation(
            "Kill a named actor (no restart) and drop iog's record of it. Audited.",
            wire.ActorKillReply, errors={
                403: "Not authorized, or a protected actor: Ray's internal ones, job "
                "supervisors, iog's namespace, IogJupyterApp.protected_actor_namespaces. "
                "Nothing is changed.",
                404: "No live actor has this name there.", **_UNAVAILABLE})}),
    Route("/sessions", sessions.SessionsHandler, "iog:sessions", {"get": Operation(
        "Live Ray drivers joined with this server's kernels: notebook, kernel state, resources "
        "held, actors, running tasks, idle seconds and idle-policy state.",
        wire.SessionList, query=wire.SessionListQuery, errors=_UNAVAILABLE)}),
    Route("/sessions/{session_id}/release", sessions.SessionReleaseHandler, "iog:sessions", params={
        "session_id": "The session's Ray job id (8 hex digits) or its kernel id (a UUID)."},
        ops={"post": Operation(
            "Kill the session's non-detached actors and cancel its running tasks; detached "
            "actors and other sessions are never touched. Audited.",
            wire.ReleaseResult, errors={
                403: "Not authorized; Ray's own driver (reason internal_driver, never "
                "released); another user's session (reason not_owner); or a driver "
                "that is not a kernel of this server (reason foreign_session, unless "
                "IogJupyterApp.sessions_release_foreign). Nothing is released.",
                404: "No live session has this id.", **_UNAVAILABLE})}),
    Route("/doctor", cluster.DoctorHandler, "iog:cluster", {"get": Operation(
        "Security and health checks of Ray and this Jupyter server, each with a fix "
        "(read-only); status is the worst of them.", wire.DoctorReport)}),
]  # fmt: skip


def all_handlers() -> list[tuple[str, Any, dict[str, Any]]]:
    """Every route of the extension, relative to the server's base_url."""
    api = [(f"{API_PREFIX}/{r.pattern}", r.handler, {"route": r}) for r in ROUTES]
    # The read-only dashboard lives beside the API: {base_url}iog/dashboard/.
    return api + dashboard_handlers
