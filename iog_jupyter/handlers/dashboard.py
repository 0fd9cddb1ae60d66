"""The Ray dashboard, read-only, behind Jupyter's auth: ``{base_url}iog/dashboard/``.

Built on jupyter-server-proxy's handler classes, not its open ``/proxy/<port>`` route (which
reaches any local port and never asks Jupyter's Authorizer). This route:

- answers GET and HEAD only (and websocket upgrades), each authenticated by Jupyter and
  authorized as ``read`` on ``iog:dashboard``; every other verb is 405;
- forwards only dashboard paths needed to view it (pages, static assets, read APIs), and refuses
  Ray's mutating or dangerous GETs (actor kill, CPU/memory profiling, tracebacks,
  ``/api/authenticate``) with 403;
- strips Jupyter's credentials (``Authorization``, cookies, ``X-XSRFToken``, and the ``token``
  and ``_xsrf`` query parameters) and adds Ray's token server-side as
  ``X-Ray-Authorization: Bearer …`` (the browser never sees it);
- drops every ``Set-Cookie`` from Ray (its token cookie would last 30 days).

The dashboard's own JavaScript never runs in Jupyter's origin. Opening the dashboard page
(``iog/dashboard/``) redirects to a *view grant* URL, ``iog/dashboard/v/<grant>/``: the grant is an
HMAC-signed, short-lived (``IogJupyterApp.dashboard_grant_ttl_s``) read-only capability minted for
the logged-in, authorized user. Every proxied response carries
``Content-Security-Policy: sandbox allow-scripts allow-popups``, so the browser gives the page an
opaque origin: it cannot read Jupyter's cookies, its XSRF token or the JupyterLab page around it,
and cannot call Jupyter's API as the user. The page's own requests are relative, so they go to the
grant URL and are authenticated by the grant alone (with ``Access-Control-Allow-Origin: *``, which
the opaque origin needs, and ``Referrer-Policy: no-referrer`` so the grant does not leak through
links). JupyterLab's dashboard tab also sandboxes its iframe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated, authorized, ws_authenticated
from jupyter_server.auth.identity import User
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server_proxy.handlers import AddSlashHandler, ProxyHandler
from tornado import web

DASHBOARD_RESOURCE = "iog:dashboard"

#: Paths (relative to the dashboard root, no leading slash) the read-only proxy forwards.
ALLOWED_PATHS = re.compile(
    r"^(?:"
    r"|index\.html|favicon\.ico|logo\.svg|manifest\.json|robots\.txt"
    r"|static/[\w./-]+"
    r"|api/version|api/cluster_status|api/gcs_healthz|api/component_activities"
    r"|api/grafana_health|api/prometheus_health|api/cluster_metadata"
    r"|api/jobs/?|api/jobs/[\w.-]+(?:/logs)?"
    r"|api/v0/(?:actors|tasks|nodes|jobs|placement_groups|workers|objects|cluster_events"
    r"|runtime_envs|tasks/summarize|tasks/timeline|logs|logs/file|vmem|delay)/?[\w.-]*"
    r"|api/serve/applications/?|api/data/datasets/?|api/train/v2/runs/?"
    r"|nodes|nodes/[\w-]+|logical/actors|logical/actors/[\w-]+|events|api/prometheus/[\w/.-]+"
    r")$"
)
#: Ray GETs that change state or run code, refused even if a pattern above would match them.
DENIED_PATHS = re.compile(
    r"(?:^|/)(?:actors/kill|kill_actor|authenticate|traceback|cpu_profile|memory_profile"
    r"|gpu_profile|profile|launch_profiling|task/traceback|worker/[\w/]*)"
)
#: Request headers never forwarded to Ray.
STRIPPED_HEADERS = ("Authorization", "Cookie", "X-XSRFToken", "X-Ray-Authorization")
STRIPPED_QUERY = frozenset({"token", "_xsrf"})
#: Headers of every proxied response: an opaque-origin sandbox, no referrer (module docstring).
SANDBOX_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts allow-popups allow-downloads",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
#: Dashboard paths that are the page itself: a browser opening them is sent to a view grant.
PAGE_PATHS = frozenset({"", "index.html"})
#: A view grant as it appears in a URL path segment.
GRANT_PATTERN = r"[A-Za-z0-9_-]{8,400}\.[A-Za-z0-9_-]{16,100}"


def mint_grant(secret: bytes, username: str, ttl_s: float, now: float | None = None) -> str:
    """A read-only dashboard view grant for ``username``, valid for ``ttl_s`` seconds.

    The grant is ``base64url(payload).base64url(hmac_sha256(secret, payload))``; the payload is
    ``{"u": username, "exp": <epoch s>}``. It carries no Ray or Jupyter secret.
    """
    expires = int((time.time() if now is None else now) + ttl_s)
    payload = json.dumps({"u": username[:100], "exp": expires}, separators=(",", ":")).encode()
    signature = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_grant(secret: bytes, grant: str, now: float | None = None) -> str | None:
    """The user name of a valid, unexpired grant signed with ``secret``; None otherwise."""
    try:
        encoded, sig = grant.split(".", 1)
        payload = _unb64(encoded)
        expected = hmac.new(secret, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig)):
            return None
        data = json.loads(payload)
        expires, username = data["exp"], data["u"]
    except (ValueError, KeyError, TypeError):
        return None
    valid = isinstance(expires, int) and isinstance(username, str)
    return username if valid and expires >= (time.time() if now is None else now) else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_allowed(path: str) -> bool:
    """Whether the read-only proxy forwards this dashboard path (module docstring)."""
    path = path.lstrip("/")
    return bool(ALLOWED_PATHS.match(path)) and not DENIED_PATHS.search(path)


class DashboardProxyHandler(ExtensionHandlerMixin, ProxyHandler):
    """``GET|HEAD iog/dashboard/{path}`` and its websockets: Ray's dashboard, read-only."""

    auth_resource = DASHBOARD_RESOURCE

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """Refuse anonymous requests with 403 before anything else runs.

        Jupyter's own ``prepare`` would redirect an anonymous GET to the login page and
        jupyter-server-proxy's would then try to redirect again; a plain 403 serves both the
        dashboard's API calls and its websockets.
        """
        user = await ensure_async(self.identity_provider.get_user(self))
        if user is None:
            raise web.HTTPError(403, "Log in to Jupyter first.")
        await super().prepare(*args, **kwargs)

    @property
    def iog(self) -> Any:
        """The running ``IogJupyterApp``."""
        return self.extensionapp

    def _target_or_503(self) -> tuple[str, int]:
        """The dashboard's host and port, the only host the proxy may reach (503 when unknown)."""
        try:
            url = urlsplit(self.iog.connection.dashboard_url)
            host, port = url.hostname or "127.0.0.1", url.port or 80
        except Exception as err:  # noqa: BLE001 - the dashboard URL comes from Ray, maybe down
            self.log.info("iog_jupyter: no dashboard URL: %s", err)
            raise web.HTTPError(503, "Ray's dashboard address is unknown; is Ray up?") from None
        self.host_allowlist = [host]
        return host, port

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """A websocket upgrade (:meth:`open`) or a read (:meth:`http_get`), for logged-in users."""
        await super().get(*args, **kwargs)

    @authorized
    async def http_get(self, proxied_path: str) -> None:
        """Forward an allowed GET (authenticated in ``prepare``, authorized here).

        The dashboard page itself is answered with a redirect to a view grant URL (module
        docstring), so its scripts run sandboxed.
        """
        if proxied_path in PAGE_PATHS:
            self._redirect_to_grant(proxied_path)
        else:
            await self._forward(proxied_path)

    @web.authenticated
    @authorized
    async def head(self, proxied_path: str) -> None:
        """Forward an allowed HEAD."""
        await self._forward(proxied_path)

    async def _forward(self, proxied_path: str) -> None:
        """Proxy this request to the dashboard, if its path is allowed (403 otherwise)."""
        if not is_allowed(proxied_path):
            raise web.HTTPError(
                403, f"iog's dashboard proxy is read-only; {proxied_path[:80]!r} is not forwarded."
            )
        if self.request.headers.get("Accept") == "text/event-stream":
            # The streaming path skips rewrite_response (Set-Cookie); take the buffered one.
            self.request.headers["Accept"] = "*/*"
        host, port = self._target_or_503()
        await self.proxy(host, port, "/" + proxied_path)

    async def open(self, proxied_path: str) -> None:
        """A websocket to an allowed dashboard path, for an authorized user."""
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", DASHBOARD_RESOURCE)
        )
        if not allowed or not is_allowed(proxied_path):
            self.close(code=1008, reason="not allowed")
            return
        host, port = self._target_or_503()
        await self.proxy_open(host, port, "/" + proxied_path)

    def _redirect_to_grant(self, proxied_path: str) -> None:
        username = getattr(self.current_user, "username", None) or "user"
        iog = self.iog
        grant = mint_grant(iog.dashboard_grant_secret, username, iog.dashboard_grant_ttl_s)
        query = self._query_without_credentials()
        location = f"{self.base_url}{DASHBOARD_PREFIX}/v/{grant}/{proxied_path}"
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.redirect(location + (f"?{query}" if query else ""))

    @web.authenticated
    def _refuse(self, *args: Any) -> None:
        _refuse_changes()

    post = put = delete = patch = options = _refuse

    def proxy_request_headers(self) -> Any:
        """The browser's headers without Jupyter's credentials, plus Ray's token."""
        headers = self.request.headers.copy()
        for name in STRIPPED_HEADERS:
            headers.pop(name, None)
        ray_token = self.iog.connection.auth_headers().get("Authorization")
        if ray_token:
            headers["X-Ray-Authorization"] = ray_token
        return headers

    def get_client_uri(self, protocol: str, host: str, port: int, proxied_path: str) -> str:
        """The dashboard URL, without Jupyter's ``token``/``_xsrf`` query parameters."""
        saved = self.request.query
        self.request.query = self._query_without_credentials()
        try:
            return super().get_client_uri(protocol, host, port, proxied_path)
        finally:
            self.request.query = saved

    def _query_without_credentials(self) -> str:
        pairs = parse_qsl(self.request.query, keep_blank_values=True)
        return urlencode([(k, v) for k, v in pairs if k not in STRIPPED_QUERY])

    def _record_activity(self) -> None:
        """Viewing the dashboard is not Jupyter activity (it must not keep servers alive)."""


class DashboardGrantHandler(DashboardProxyHandler):
    """``GET|HEAD iog/dashboard/v/{grant}/{path}``: the read-only dashboard for a view grant.

    The grant alone authenticates (the sandboxed page sends no Jupyter credentials, and any it
    sends are stripped); it was minted for an authenticated user authorized to read
    ``iog:dashboard``, and expires. Websocket upgrades are refused on grant URLs.
    """

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """Check the Host header and the grant (403 when forged or expired); act as its user.

        Jupyter's login is not consulted: the page is sandboxed and sends no Jupyter
        credentials. The grant stands in for them (it was minted after Jupyter authenticated
        the user and authorized ``read`` on ``iog:dashboard``), which is why the verbs below are
        marked ``@allow_unauthenticated`` for Jupyter's own check.
        """
        self.current_user = self._jupyter_current_user = None
        if not self.check_host():
            raise web.HTTPError(403)
        grant = self.path_kwargs.get("grant", "")
        username = read_grant(self.iog.dashboard_grant_secret, grant)
        if username is None:
            raise web.HTTPError(
                403, "This dashboard link is invalid or expired; open the dashboard again."
            )
        self.current_user = self._jupyter_current_user = User(username=username)

    @allow_unauthenticated
    async def get(self, grant: str, proxied_path: str) -> None:  # type: ignore[override]
        """Forward an allowed read; websocket upgrades are refused here."""
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            raise web.HTTPError(403, "Websockets are not forwarded on dashboard grant URLs.")
        await self._forward(proxied_path)

    @allow_unauthenticated
    async def head(self, grant: str, proxied_path: str) -> None:  # type: ignore[override]
        """Forward an allowed HEAD."""
        await self._forward(proxied_path)

    @allow_unauthenticated
    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        _refuse_changes()

    post = put = delete = patch = options = _refuse

    def check_xsrf_cookie(self) -> None:
        """Only GET and HEAD are served, and the grant authenticates; no XSRF cookie exists."""


def _add_sandbox_headers(response: Any) -> None:
    response.headers.update(SANDBOX_HEADERS)


def _allow_any_origin(response: Any) -> None:
    # The sandboxed page's origin is opaque ("null"); the grant in the URL is the credential,
    # so no cookie is involved and "*" exposes nothing to a page that lacks the grant.
    response.headers["Access-Control-Allow-Origin"] = "*"


def _drop_set_cookie(response: Any) -> None:
    if "Set-Cookie" in response.headers:
        del response.headers["Set-Cookie"]  # every value of it


def _refuse_changes() -> None:
    raise web.HTTPError(405, "iog's dashboard proxy is read-only: GET and HEAD only.")


#: Registered by the app at ``{base_url}iog/dashboard/`` (outside the REST prefix). Every proxied
#: response loses Ray's cookies and is sandboxed; a grant URL's also allows the page's origin.
DASHBOARD_PREFIX = "iog/dashboard"
_REWRITES = (_drop_set_cookie, _add_sandbox_headers)
dashboard_handlers = [
    (DASHBOARD_PREFIX, AddSlashHandler, {}),
    (
        rf"{DASHBOARD_PREFIX}/v/(?P<grant>{GRANT_PATTERN})/(?P<proxied_path>.*)",
        DashboardGrantHandler,
        {"rewrite_response": (*_REWRITES, _allow_any_origin)},
    ),
    (rf"{DASHBOARD_PREFIX}/(.*)", DashboardProxyHandler, {"rewrite_response": _REWRITES}),
]
