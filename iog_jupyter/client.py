"""The one REST and websocket client of the iog_jupyter API of a Jupyter server.

Used by the ``iog`` command's remote mode and by widgets that show a server's view; it knows
nothing of either (errors carry a ``kind``, which the CLI maps to its exit codes). ``.jobs`` is
core's ``JobsAPI`` protocol over REST, so one ``follow_logs`` serves jobs here and on a server.

The Jupyter token travels only in the ``Authorization: token …`` header: never in a URL, a log
line or an error message. TLS certificates are verified unless the caller explicitly says not to.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import websocket

from ._version import __version__
from .core.wire import JobPage, JobRecord, LogPage

log = logging.getLogger(__name__)
#: How long a log follow waits for an unavailable server or Ray before it gives up.
RESUME_FOR_S = 600.0
#: Seconds between two attempts to resume a log follow.
RESUME_EVERY_S = 2.0

API_PREFIX = "iog/api/v1/"
#: Reasons of a 403 that refuse the target, not the credentials: errors, not ``auth``.
TARGET_REFUSALS = frozenset({"protected_actor", "internal_driver", "foreign_session"})


class IogClientError(Exception):
    """A request to the server failed.

    Attributes:
        status: The HTTP status, or None when no reply came (connection refused, timeout, TLS).
        message: The server's ``message`` (or what went wrong on the way), never a token.
        reason: The server's ``reason`` tag, or a local one (``unreachable``, ``bad_url``).
    """

    def __init__(self, message: str, status: int | None = None, reason: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason

    @property
    def kind(self) -> str:
        """What failed, for a caller's handling: ``usage``, ``auth``, ``unavailable`` or ``error``.

        ``usage``: the request or URL was bad (400, 413, a malformed URL); ``auth``: the server
        refused the credentials (401/403, but not a refused target: :data:`TARGET_REFUSALS`);
        ``unavailable``: no reply, or the server or Ray is down (502-504, ``ray_unavailable``).
        """
        if self.reason == "tail_error":  # the server said why the log tail ended
            return "error"
        if self.reason == "bad_url" or self.status in (400, 413):
            return "usage"
        if self.status in (401, 403) and self.reason not in TARGET_REFUSALS:
            return "auth"
        if self.status is None or self.status in (502, 503, 504):
            return "unavailable"
        return "unavailable" if self.reason == "ray_unavailable" else "error"


def normalize_base_url(url: str) -> str:
    """Check a Jupyter server URL and return it with exactly one trailing slash.

    Raises:
        IogClientError: The URL is not http(s), has no host, or carries credentials or a query
            (a ``?token=`` belongs in ``IOG_TOKEN``, not in a command line ``ps`` shows).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise IogClientError("The server URL is malformed.", reason="bad_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IogClientError(
            "The server URL must start with http:// or https:// and name a host "
            "(for example https://head.example.com:8888/).",
            reason="bad_url",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise IogClientError(
            "Give the server URL without credentials, query or fragment; put the Jupyter token "
            "in the IOG_TOKEN environment variable.",
            reason="bad_url",
        )
    path = parts.path
    for suffix in ("/lab", "/tree"):
        if path.rstrip("/").endswith(suffix):
            path = path.rstrip("/")[: -len(suffix)]
    if port == 0:
        raise IogClientError("The server URL has port 0.", reason="bad_url")
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/", "", ""))


class IogClient:
    """A client of one Jupyter server's iog_jupyter REST API (``{url}iog/api/v1/``).

    Args:
        url: The Jupyter server's base URL (with its ``base_url``, if any).
        token: The Jupyter token, sent as ``Authorization: token …``; None sends none.
        verify_tls: Verify the server's TLS certificate (a CA bundle path also works).
        request_timeout_s: Connect and read deadline of one request.

    Raises:
        IogClientError: The URL is malformed; :meth:`request` raises it when a call fails.

    Example:
        >>> client = IogClient("http://127.0.0.1:8888/", os.environ["IOG_TOKEN"])  # doctest: +SKIP
        >>> client.request("GET", "cluster")["totals"]["CPU"]  # doctest: +SKIP
        8.0
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        verify_tls: bool | str = True,
        request_timeout_s: float = 15.0,
    ) -> None:
        self.url = normalize_base_url(url)
        self.request_timeout_s = request_timeout_s
        self._session = requests.Session()
        self._session.verify = verify_tls
        self._session.headers["User-Agent"] = f"iog-cli/{__version__}"
        self._session.headers["Accept"] = "application/json"
        if token:
            self._session.headers["Authorization"] = f"token {token}"
        self._token = token
        self.jobs = JobsClient(self)

    def __repr__(self) -> str:
        return f"IogClient(url={self.url!r})"

    def close(self) -> None:
        """Release the connection pool."""
        self._session.close()

    def _scrub(self, text: str) -> str:
        """Remove the token from text that came from elsewhere (a server message)."""
        return text.replace(self._token, "<token>") if self._token else text

    def url_of(self, *parts: str) -> str:
        """The URL of ``iog/api/v1/<parts>``, each part URL-quoted."""
        return self.url + API_PREFIX + "/".join(quote(part, safe="") for part in parts)

    def request(
        self,
        method: str,
        *parts: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """One call of the route ``parts`` (``"jobs", sid, "stop"``): the reply's JSON object.

        ``params`` that are None or ``""`` are left out. Raises :class:`IogClientError`.
        """
        url = self.url_of(*parts)
        params = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        headers = {"Content-Type": content_type} if content_type else None
        try:
            reply = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                timeout=self.request_timeout_s,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            raise IogClientError(
                f"TLS verification of {self.url} failed; give the server's CA bundle with "
                "IOG_CA_BUNDLE (or REQUESTS_CA_BUNDLE).",
                reason="tls",
            ) from None
        except requests.exceptions.InvalidURL:
            raise IogClientError("The server URL is malformed.", reason="bad_url") from None
        except requests.RequestException as err:
            raise IogClientError(
                f"Could not reach the Jupyter server at {self.url} ({type(err).__name__}); "
                "check the URL and that the server runs.",
                reason="unreachable",
            ) from None
        if 300 <= reply.status_code < 400:
            raise IogClientError(
                f"{url} answered {reply.status_code} (a redirect, usually to a login page); "
                "check the URL's base path and the token in IOG_TOKEN.",
                status=reply.status_code,
                reason="redirect",
            )
        try:
            body: Any = reply.json()
        except ValueError:
            body = None
        if reply.status_code >= 400:
            raise self._error(reply.status_code, body, url)
        if not isinstance(body, dict):
            raise IogClientError(
                f"{url} did not send JSON; is iog_jupyter enabled on this server?",
                status=reply.status_code,
                reason="bad_reply",
            )
        return body

    def _error(self, status: int, body: Any, shown: str) -> IogClientError:
        message = body.get("message") if isinstance(body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        if status in (401, 403) and reason not in TARGET_REFUSALS:
            hint = (
                "the token in IOG_TOKEN was refused"
                if self._token
                else "no token was given; set IOG_TOKEN to the Jupyter server's token"
            )
            detail = f": {message}" if message else ""
            phrase = HTTPStatus(status).phrase  # Unauthorized, Forbidden
            text = f"The Jupyter server refused the request ({status} {phrase}, {hint}){detail}."
            return IogClientError(self._scrub(text), status=status, reason=reason or "forbidden")
        if status == 404 and not message:
            return IogClientError(
                f"{shown} was not found (404); is the iog_jupyter server extension enabled, and "
                "does the URL include the server's base path?",
                status=status,
                reason="not_found",
            )
        text = str(message) if message else f"{shown} answered {status}."
        return IogClientError(self._scrub(text), status=status, reason=str(reason or "error"))


class JobsClient:
    """A server's jobs as core models: the ``JobsAPI`` protocol of ``core.jobs.service``.

    ``IogClient.jobs``; errors are :class:`IogClientError`.
    """

    def __init__(self, client: IogClient) -> None:
        self.client = client

    def submit(self, body: dict[str, Any]) -> str:
        """``POST jobs``; returns the submission id."""
        return str(self.client.request("POST", "jobs", json_body=body)["submission_id"])

    def list(
        self, statuses: frozenset[str] | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """``GET jobs``: one page, newest first."""
        params = {"status": ",".join(sorted(statuses or ())), "limit": limit, "cursor": cursor}
        return JobPage.model_validate(self.client.request("GET", "jobs", params=params))

    def get(self, submission_id: str) -> JobRecord:
        """``GET jobs/{id}``."""
        return JobRecord.model_validate(self.client.request("GET", "jobs", submission_id))

    def stop(self, submission_id: str) -> bool:
        """``POST jobs/{id}/stop``: False when the job had already ended."""
        return bool(self.client.request("POST", "jobs", submission_id, "stop").get("stopped"))

    def delete(self, submission_id: str) -> None:
        """``DELETE jobs/{id}``: remove an ended job's record and logs."""
        self.client.request("DELETE", "jobs", submission_id)

    def logs(self, submission_id: str, offset: int = 0, limit_bytes: int | None = None) -> LogPage:
        """``GET jobs/{id}/logs``: one page from ``offset``."""
        params = {"offset": offset, "limit_bytes": limit_bytes or None}
        reply = self.client.request("GET", "jobs", submission_id, "logs", params=params)
        return LogPage.model_validate(reply)

    def follow(
        self, submission_id: str, offset: int = 0, stop: threading.Event | None = None
    ) -> Iterator[LogPage]:
        """``WS jobs/{id}/logs/tail``: the live log from ``offset`` until the job has ended.

        While the server or its Ray is unavailable (a 503, or the tail breaks off) it waits and
        resumes from the last byte it yielded, for up to :data:`RESUME_FOR_S` (a warning says
        so once per outage). Raises IogClientError when the tail is refused otherwise, the wait
        runs out, or the server ends the tail with an error (the job was deleted).
        """
        waiting_since: float | None = None
        stop = stop or threading.Event()
        while True:
            try:
                for page in self._tail(submission_id, offset, stop):
                    waiting_since, offset = None, page.next_offset
                    yield page
                return
            except IogClientError as err:
                if err.kind != "unavailable":
                    raise
                now = time.monotonic()
                if waiting_since is None:
                    waiting_since = now
                    log.warning(
                        "iog: %s Resuming the log at byte %d once it answers (Ctrl-C to stop).",
                        err.message,
                        offset,
                    )
                elif now - waiting_since > RESUME_FOR_S:
                    raise
            if stop.wait(RESUME_EVERY_S):
                return

    def _tail(self, submission_id: str, offset: int, stop: threading.Event) -> Iterator[LogPage]:
        """One ``WS jobs/{id}/logs/tail`` connection (see :meth:`follow`)."""
        client = self.client
        shown = client.url_of("jobs", submission_id, "logs", "tail")
        parts = urlsplit(shown)
        scheme = "wss" if parts.scheme == "https" else "ws"
        url = urlunsplit((scheme, parts.netloc, parts.path, f"offset={int(offset)}", ""))
        headers = [f"Authorization: token {client._token}"] if client._token else []
        verify = client._session.verify
        sslopt: dict[str, Any] = {}
        if verify is False:
            sslopt = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        elif verify is not True:
            sslopt = {"ca_certs": verify}
        try:
            ws = websocket.create_connection(
                url, header=headers, suppress_origin=True, sslopt=sslopt, timeout=60
            )
        except websocket.WebSocketBadStatusException as err:
            try:  # the server's {"message", "reason"}, as REST answers carry
                body = json.loads(getattr(err, "resp_body", None) or b"{}")
            except ValueError:
                body = None
            raise client._error(err.status_code, body, shown) from None
        except (OSError, websocket.WebSocketException) as err:
            raise IogClientError(
                f"Could not open the log tail at {client.url} ({type(err).__name__}).",
                reason="unreachable",
            ) from None
        try:
            while not stop.is_set():
                try:
                    raw = ws.recv()
                except (OSError, websocket.WebSocketException) as err:
                    raise IogClientError(
                        f"The log tail broke off ({type(err).__name__}).", reason="unreachable"
                    ) from None
                message = json.loads(raw) if raw else {}
                if message.get("type") == "status":
                    return
                if message.get("type") != "log":
                    text = str(message.get("message") or "The log tail ended before the job did.")
                    raise IogClientError(client._scrub(text), reason="tail_error")
                message.update(submission_id=submission_id, eof=False)
                yield LogPage.model_validate(message)  # a LogMessage, as a page
        finally:
            ws.close()

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()
