"""REST handlers for Ray jobs: list, submit, get, stop, delete, log pages and package uploads."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from typing import IO, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.errors import ValidationError
from ..core.jobs.service import parse_statuses
from ..core.jobs.validation import check_submission_id
from ..core.wire import DeleteReply, PackageReply, StopReply, SubmitReply
from .base import IogAPIHandler, capped

DEFAULT_PAGE_SIZE = 50
DEFAULT_LOG_PAGE_BYTES = 64 * 1024


class JobsAPIHandler(IogAPIHandler):
    """Base of the jobs handlers: the job service, the audit log, and bounded request bodies.

    Request bodies are streamed (``@web.stream_request_body`` on subclasses that take one), so
    a request is authenticated and authorized, and its ``Content-Length`` checked against
    ``body_limit_bytes()``, before a single body byte is read; a body without a length is
    counted as it arrives and refused at the cap (413) without being buffered whole.
    """

    #: Which audit action a refused body (413) of this handler is recorded as, and its target
    #: when the path names no job.
    audit_action: str | None = None
    refused_target = "-"

    async def change_job(self, action: str, submission_id: str, method: str) -> Any:
        """``jobs.<method>(submission_id)``, audited as ``action``, for its owner or an admin.

        Raises:
            ValidationError: A malformed id or query.
            NotFoundError: No job has this id.
            ForbiddenError: Another user's job, and no ``iog:admin`` grant (``check_owner``).
        """
        with self.audited(action, submission_id[:70]):
            self.query()
            jobs = await self.iog.get_job_service()
            record = await self.run_blocking(jobs.get, submission_id)
            await self.check_owner(record.owner, f"Job {submission_id!r}")
            return await self.run_blocking(getattr(jobs, method), submission_id)

    _body_bytes = 0
    #: Whether the body was refused (413 already sent): the verb then does nothing.
    body_refused = False
    _body: bytearray | None = None

    #: The trait that caps this route's request bodies.
    body_limit_trait = "max_request_body_bytes"

    def body_limit_bytes(self) -> int:
        """The largest request body this route accepts."""
        return int(getattr(self.iog, self.body_limit_trait))

    def finish(self, chunk: Any = None) -> Any:
        """Say ``Connection: close`` on an answer sent before the request body was read.

        Tornado then closes the connection (the only way to skip an unread body); without the
        header a keep-alive client would send its next request into the closed connection.
        """
        body_read = getattr(self.request, "_body_future", None)
        if not self._headers_written and body_read is not None and not body_read.done():
            self.set_header("Connection", "close")
        return super().finish(chunk)

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate and authorize changes, and refuse a too-large body, before reading it."""
        await super().prepare()
        if self._finished or self.request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        if self.current_user is None:
            raise web.HTTPError(403, "Log in to change jobs.")
        if not await self.is_authorized("write", self.auth_resource):
            raise web.HTTPError(403, "You may not change jobs (iog:jobs write).")
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self.body_limit_bytes():
            raise self._refuse_body()

    def _refuse_body(self) -> web.HTTPError:
        """Audit a too-large body; return the 413 to answer (the unread rest is dropped)."""
        self.body_refused = True
        if self.audit_action:
            target = self.path_kwargs.get("submission_id", self.refused_target)
            self.audit(self.audit_action, target, "refused", "413 body_too_large")
        return web.HTTPError(
            413,
            f"The request body is larger than {self.body_limit_bytes()} bytes, the limit set by "
            f"IogJupyterApp.{self.body_limit_trait}.",
            reason="Payload Too Large",
        )

    def data_received(self, chunk: bytes) -> None:
        """Count streamed body bytes; keep them (JSON bodies) or hand them to ``write_chunk``."""
        if self.body_refused or self._finished:
            return
        self._body_bytes += len(chunk)
        if self._body_bytes > self.body_limit_bytes():
            error = self._refuse_body()
            self.discard_body()
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self.write_chunk(chunk)

    def write_chunk(self, chunk: bytes) -> None:
        """Keep a chunk of the body in memory (bounded by ``body_limit_bytes``)."""
        if self._body is None:
            self._body = bytearray()
        self._body += chunk

    def discard_body(self) -> None:
        """Drop what was received of a refused body."""
        self._body = None

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object.

        A body sent as anything but ``application/json`` is refused (415) before it is parsed:
        a browser sends form-encoded or ``text/plain`` bodies cross-site without asking, so a
        JSON object hidden in one must never be taken for a submission.

        Raises:
            HTTPError: 415, the Content-Type is not ``application/json``.
            ValidationError: The body is empty, not JSON, or not an object.
        """
        media_type = self.request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            sent = repr(media_type[:60]) if media_type else "none"
            raise web.HTTPError(
                415,
                "The request body must be JSON sent with Content-Type: application/json "
                f"(this request's Content-Type: {sent}).",
                reason="Unsupported Media Type",
            )
        try:
            data = json.loads(self._body or b"")
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(
                "The request body must be a JSON object (Content-Type: application/json).",
                reason="bad_json",
            ) from None
        if not isinstance(data, dict):
            raise ValidationError(
                f"The request body must be a JSON object, not {type(data).__name__}.",
                reason="bad_json",
            )
        return data


@web.stream_request_body
class JobsHandler(JobsAPIHandler):
    """``GET jobs?status=&limit=&cursor=`` (a page, newest first) and ``POST jobs`` (submit)."""

    audit_action = "job.submit"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return one page of jobs, newest first, filtered by status server-side."""
        if self.body_refused:
            return
        query = self.query()
        statuses = parse_statuses(query.status)
        limit = capped("limit", query.limit or DEFAULT_PAGE_SIZE, self.iog.job_list_max_limit)
        page = await self.run_blocking(
            (await self.iog.get_job_service()).list, statuses, limit, query.cursor
        )
        self.write_json(page)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Validate and submit a job; 201 ``{submission_id}`` with a Location header."""
        if self.body_refused:
            return
        self.query()
        with self.audited("job.submit", "-") as audit:
            body = self.json_body()
            requested = body.get("submission_id")
            if isinstance(requested, str):
                audit["target"] = requested[:70]
            jobs = await self.iog.get_job_service()
            submission = await self.run_blocking(jobs.validate, body, self.username)
            audit["target"] = submission.submission_id
            submission_id = await self.run_blocking(
                jobs.submit, submission, timeout_s=self.iog.submit_timeout_s
            )
            audit["target"] = submission_id
        self.set_header("Location", f"{self.request.path.rstrip('/')}/{submission_id}")
        self.write_json(SubmitReply(submission_id=submission_id), status=201)


@web.stream_request_body
class JobHandler(JobsAPIHandler):
    """``GET jobs/{submission_id}`` and ``DELETE jobs/{submission_id}``."""

    audit_action = "job.delete"

    @web.authenticated
    @authorized
    async def get(self, submission_id: str) -> None:
        """Return the job (env var values redacted, ``pending_reason`` while PENDING)."""
        if self.body_refused:
            return
        self.query()
        record = await self.run_blocking((await self.iog.get_job_service()).get, submission_id)
        self.write_json(record)

    @web.authenticated
    @authorized
    async def delete(self, submission_id: str) -> None:
        """Delete a terminal job's record and logs for good; 409 while it runs."""
        if self.body_refused:
            return
        await self.change_job("job.delete", submission_id, "delete")
        self.write_json(DeleteReply(submission_id=submission_id, deleted=True))


@web.stream_request_body
class JobStopHandler(JobsAPIHandler):
    """``POST jobs/{submission_id}/stop``: stop a job; idempotent on ended jobs."""

    audit_action = "job.stop"

    @web.authenticated
    @authorized
    async def post(self, submission_id: str) -> None:
        """Ask the job to stop; ``stopped`` is false when it had already ended."""
        if self.body_refused:
            return
        stopped = await self.change_job("job.stop", submission_id, "stop")
        self.write_json(StopReply(submission_id=submission_id, stopped=bool(stopped)))


class JobLogsHandler(JobsAPIHandler):
    """``GET jobs/{submission_id}/logs?offset=&limit_bytes=``: a byte-offset page of the log."""

    @web.authenticated
    @authorized
    async def get(self, submission_id: str) -> None:
        """Return ``text`` for bytes ``[offset, next_offset)`` and ``eof``."""
        query = self.query()
        check_submission_id(submission_id)
        most = self.iog.log_page_max_bytes
        limit = capped("limit_bytes", query.limit_bytes or min(DEFAULT_LOG_PAGE_BYTES, most), most)
        jobs = await self.iog.get_job_service()
        page = await self.run_blocking(jobs.logs, submission_id, query.offset, limit)
        self.write_json(page)


@web.stream_request_body
class PackagesHandler(JobsAPIHandler):
    """``POST packages``: a ``working_dir`` zip, streamed to disk under a size cap.

    The body is the zip itself (``Content-Type: application/zip``). It is checked whole (no
    ``..``, absolute paths, symlinks, setuid bits, too many entries or too large expanded) before
    it is stored; the reply's ``uri`` goes into ``runtime_env.working_dir``.
    """

    audit_action = "package.upload"
    refused_target = "package"
    _spool: IO[bytes] | None = None

    body_limit_trait = "package_max_bytes"

    def write_chunk(self, chunk: bytes) -> None:
        """Append a chunk to the spool file (created on the first chunk, mode 0600)."""
        if self._spool is None:
            spool_dir = os.path.join(self.iog.jobs_state_dir, "uploads")
            os.makedirs(spool_dir, mode=0o700, exist_ok=True)
            self._spool = tempfile.NamedTemporaryFile(  # deleted when closed (discard_body)
                prefix="upload-", suffix=".zip", dir=spool_dir
            )
        self._spool.write(chunk)

    def discard_body(self) -> None:
        """Close the spool file, which deletes it."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def on_finish(self) -> None:
        """Never leave a spool file behind, then do what every change does (wake the feed)."""
        self.discard_body()
        super().on_finish()

    def on_connection_close(self) -> None:
        """A client that went away mid-upload leaves nothing behind."""
        super().on_connection_close()
        self.discard_body()

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Check and store the uploaded zip; 201 ``{"uri": ...}``."""
        if self.body_refused:
            return
        with self.audited("package.upload", "package") as audit:
            self.query()
            if self._spool is None:
                raise ValidationError(
                    "The request body must be a zip file (Content-Type: application/zip).",
                    reason="empty_upload",
                )
            self._spool.flush()
            self._spool.seek(0)
            iog = self.iog
            store = functools.partial(
                iog.package_store.store_zip,
                max_bytes=iog.package_max_bytes,
                max_entries=iog.package_max_entries,
                max_expanded_bytes=iog.package_max_expanded_bytes,
            )
            uri = await self.run_blocking(store, self._spool, needs_ray=False)
            audit["target"] = uri
        self.write_json(PackageReply(uri=uri), status=201)


@web.stream_request_body
class NotebookJobsHandler(JobsAPIHandler):
    """``POST notebook-jobs``: run a notebook under the Jupyter root as a Ray job (papermill)."""

    audit_action = "job.submit"

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Validate and submit; 201 ``{submission_id, notebook, output}``, Location: the job."""
        if self.body_refused:
            return
        self.query()
        with self.audited("job.submit", "-") as audit:
            body = self.json_body()
            notebooks = await self.iog.get_notebook_jobs()
            reply = await self.run_blocking(
                notebooks.submit, body, self.username, timeout_s=self.iog.submit_timeout_s
            )
            audit["target"] = reply.submission_id
        jobs_url = self.request.path.rstrip("/").rpartition("/")[0]
        self.set_header("Location", f"{jobs_url}/jobs/{reply.submission_id}")
        self.write_json(reply, status=201)
