"""The base classes of iog's REST and websocket handlers: auth, off-loop Ray calls, JSON errors."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel
from tornado import web, websocket

from ..core.errors import ForbiddenError, IogError, ValidationError
from ..core.monitor import ClusterMonitor
from .contract import Route, parse_query

T = TypeVar("T")

#: Verbs that never change state (everything else is refused on an insecure server).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Granting ``write`` on it lets a user change other users' jobs and sessions (``check_owner``).
ADMIN_RESOURCE = "iog:admin"


#: Jupyter Server's own login (token or password): a single-user server.
_SINGLE_USER_PROVIDERS = (IdentityProvider, LegacyIdentityProvider, PasswordIdentityProvider)


def request_username(handler: JupyterHandler) -> str:
    """Who a request acts for: the name jobs, audit records, quotas and sessions use.

    Jupyter Server's own token/password login serves one person, and it names each
    token-authenticated API request (the CLI's, a script's) with a fresh random anonymous name;
    there the user is the OS account running the server. Identity providers that know users
    (JupyterHub's) give the user's name.
    """
    if type(handler.identity_provider) in _SINGLE_USER_PROVIDERS:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return f"uid-{os.getuid()}"
    user = handler.current_user
    return str(getattr(user, "username", None) or user or "")


class IogHandlerMixin(ExtensionHandlerMixin, web.RequestHandler):
    """What every iog handler has: its :class:`Route`, the app, off-loop core calls, JSON errors.

    Errors leave as ``{"message", "reason"}`` JSON (REST verbs and refused websocket upgrades):
    never a traceback, a path, a token, or Jupyter's HTML error page.
    """

    route: Route

    def initialize(self, name: str, route: Route, **kwargs: Any) -> None:  # type: ignore[override]
        """Keep the route this handler serves (its resource, query models)."""
        super().initialize(name, **kwargs)
        self.route = route
        self.auth_resource = route.resource

    @property
    def iog(self) -> Any:
        """The extension app (traits, services): ``IogJupyterApp``."""
        return self.extensionapp

    async def run_blocking(
        self,
        fn: Callable[..., T],
        *args: Any,
        timeout_s: float | None = None,
        needs_ray: bool | None = None,
    ) -> T:
        """Run a blocking core call off the event loop, in this route's lane.

        The lane is the route resource's area (``jobs``, ...). See
        :class:`~iog_jupyter.core.calls.Lanes`: a call that needs Ray is refused at once while
        Ray is known to be down; the deadline counts queueing and says which ran out. By
        default a call needs Ray, except a job call while jobs run on the local backend.
        """
        lane = self.route.resource.partition(":")[2] or "other"
        if needs_ray is None:
            needs_ray = lane != "jobs" or self.iog.jobs_backend_name == "ray"
        return await self.iog.calls.run(lane, fn, *args, timeout_s=timeout_s, needs_ray=needs_ray)

    async def polled_monitor(self) -> ClusterMonitor:
        """The started cluster monitor, after its first poll (a fresh server answers with data)."""
        monitor = self.iog.monitor
        monitor.start()
        if monitor.connected is None:
            await monitor.poll_once()
        return monitor

    def query(self) -> Any:
        """This verb's query, validated against its model in the route table.

        Raises:
            ValidationError: An unknown parameter or a bad value (400, naming what to send).
        """
        op = self.route.ops[self.request.method.lower()]
        return parse_query(op.query, self.request.query_arguments)

    async def is_authorized(self, action: str, resource: str) -> bool:
        """Whether Jupyter's Authorizer grants the current user ``action`` on ``resource``."""
        allowed = self.authorizer.is_authorized(self, self.current_user, action, resource)
        return bool(await ensure_async(allowed))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, IogError) and not self._finished:
            status = e.http_status
            if status >= 500 and status != 503:
                self.log.error("iog_jupyter: unmapped error %s", type(e).__name__)
            self.send_error(status, exc_info=sys.exc_info())
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write ``{"message", "reason"}``: what went wrong and what to do, nothing more."""
        self.set_header("Content-Type", "application/json")
        reason = self._reason
        message, tag = "Internal error; see the Jupyter server log.", "internal"
        error = kwargs["exc_info"][1] if kwargs.get("exc_info") else None
        if isinstance(error, IogError):
            message, tag = error.message, error.reason
        elif isinstance(error, web.HTTPError):
            message, tag = error.log_message or reason, error.reason or reason or ""
        elif status_code < 500:
            message, tag = reason, reason
        if not isinstance(error, IogError):
            tag = tag.lower().replace(" ", "_")
        self.finish(json.dumps({"message": message, "reason": tag}))


class IogAPIHandler(IogHandlerMixin, APIHandler):
    """Base of every iog REST handler: services, the insecure-server refusal, owners, audit.

    Each handler is registered from its :class:`Route` (``routes.ROUTES``), which names the
    resource Jupyter's Authorizer checks (``iog:cluster``, ``iog:jobs``, ...) and the query
    model of each verb; verbs are decorated with ``@web.authenticated`` and ``@authorized``.
    """

    #: The app's background services a request starts (``start()`` is idempotent): the shared
    #: monitor, and a route's own (the server starts them too; this covers embedded servers).
    services: tuple[str, ...] = ("monitor",)

    async def prepare(self) -> None:  # type: ignore[override]
        """Start the :attr:`services`; refuse changes on an insecure server (module docstring).

        Raises:
            ForbiddenError: A mutating verb on a server without auth or XSRF checks, or with
                ``allow_origin='*'``, unless ``IogJupyterApp.allow_insecure`` is set.
        """
        await super().prepare()
        for service in self.services:
            getattr(self.iog, service).start()
        reasons = self.iog.insecure_reasons
        if self.request.method not in SAFE_METHODS and reasons and not self.iog.allow_insecure:
            raise ForbiddenError(
                f"This Jupyter server runs with {' and '.join(reasons)}, so iog refuses changes "
                "through it. Fix that (`iog doctor` says how) or set "
                "IogJupyterApp.allow_insecure=True.",
                reason="insecure_server",
            )

    def on_finish(self) -> None:
        """After a change went through, let ``events/subscribe`` clients know without delay."""
        super().on_finish()
        if self.request.method not in SAFE_METHODS and self.get_status() < 400:
            self.iog.changes.wake()

    @property
    def username(self) -> str:
        """The Jupyter user making the request (server-set; :func:`request_username`)."""
        return request_username(self)

    async def check_owner(self, owner: str | None, what: str) -> None:
        """Let only ``owner``, or a user granted ``write`` on ``iog:admin``, change a resource.

        A resource without a recorded owner (a job submitted to Ray directly, a driver started
        with a plain ``ray.init()``) belongs to nobody, so only an admin may change it.
        Jupyter's default Authorizer grants everything, so on a single-user server the user is
        everyone's admin; a JupyterHub-style Authorizer decides who else may.

        Args:
            owner: The user the resource belongs to (None or empty when unknown).
            what: The resource as a refusal names it, for example ``"Job 'x'"``.

        Raises:
            ForbiddenError: Another user's resource (reason ``not_owner``), and no admin grant.
        """
        if owner and owner == self.username:
            return
        if not await self.is_authorized("write", ADMIN_RESOURCE):
            belongs = f"belongs to {owner!r}" if owner else "has no recorded owner"
            raise ForbiddenError(
                f"{what} {belongs}; only its owner or an admin (write on {ADMIN_RESOURCE}) may "
                "change it.",
                reason="not_owner",
            )

    def audit(self, action: str, target: str, outcome: str, detail: str | None = None) -> None:
        """Write one audit record for this request (never env values or tokens)."""
        try:
            self.iog.audit_log.record(
                action, target, outcome, self.username, self.request.remote_ip, detail=detail
            )
        except OSError:
            self.log.exception("iog_jupyter: could not write the audit log")

    @contextmanager
    def audited(self, action: str, target: str) -> Iterator[dict[str, Any]]:
        """Record how the block ended: ``allowed``, ``refused`` (a 4xx) or ``failed``.

        A refusal's ``detail`` is ``"<status> <reason>: <message>"`` (messages never carry env
        values or tokens). The yielded dict may be given a new ``target`` (the id a submit got).
        """
        state: dict[str, Any] = {"target": target}
        try:
            yield state
        except (IogError, web.HTTPError) as error:
            if isinstance(error, IogError):
                status, detail = error.http_status, f"{error.reason}: {error.message}"
            else:
                status, detail = error.status_code, str(error.reason)
            outcome = "refused" if status < 500 else "failed"
            self.audit(action, state["target"], outcome, f"{status} {detail}")
            raise
        except BaseException as error:
            self.audit(action, state["target"], "failed", type(error).__name__)
            raise
        self.audit(action, state["target"], "allowed")

    def write_json(self, data: str | BaseModel, status: int = 200) -> None:
        """Finish the request with a JSON body: a model, or JSON text."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(data if isinstance(data, str) else data.model_dump_json())


class IogWebSocketHandler(
    IogHandlerMixin, WebSocketMixin, websocket.WebSocketHandler, JupyterHandler
):
    """Base of iog's websockets: authorization before the upgrade, off-loop calls, backpressure.

    ``get`` is ``@ws_authenticated`` and runs :meth:`pre_get` (the query, :meth:`authorize` on
    the route's resource, a subclass's own checks) before it upgrades.
    """

    #: What a 403 says the user may not read, for example ``"the cluster"``.
    auth_description = "the cluster"

    #: Undoes the subscription ``open`` made (to the monitor, to the change feed), if any.
    _unsubscribe: Callable[[], None] | None = None

    #: Bytes given to :meth:`write_message` that tornado has not yet handed to the socket.
    unsent_bytes = 0
    #: The most :attr:`unsent_bytes` this socket ever held (for tests and benchmarks).
    max_unsent_bytes = 0

    def write_message(self, message: bytes | str, binary: bool = False) -> asyncio.Future[None]:
        """Send one message, unless the client has fallen too far behind: then close it.

        Every iog websocket sends through here. Bytes count as unsent from this call until
        tornado has written them to the socket (the returned future resolves). When the socket
        already holds unsent bytes and this message would take it over
        ``IogJupyterApp.websocket_max_buffer_bytes``, the connection is closed with code 1008
        and a reason saying why, and :class:`~tornado.websocket.WebSocketClosedError` is raised
        as for any closed socket; so a client that reads nothing costs the server at most the
        bound plus one message, never more. One message larger than the bound still goes out
        on an empty buffer (a big cluster's snapshot).

        Raises:
            tornado.websocket.WebSocketClosedError: The socket is closed, or was closed now.
        """
        if self.ws_connection is None or self.ws_connection.is_closing():
            raise websocket.WebSocketClosedError()
        data = message.encode() if isinstance(message, str) else message
        # Counted as a frame: the payload and its (unmasked) header, what the stream buffers.
        size = len(data) + (2 if len(data) < 126 else 4 if len(data) < 1 << 16 else 10)
        limit = self.iog.websocket_max_buffer_bytes
        if self.unsent_bytes and self.unsent_bytes + size > limit:
            # Close it, saying why (a close reason has 123 bytes at most).
            reason = (
                f"Client too slow: {self.unsent_bytes} bytes unsent, over the "
                f"{limit}-byte limit (IogJupyterApp.websocket_max_buffer_bytes)"
            )
            self.log.warning(
                "iog_jupyter: closed %s for %s: %s",
                self.request.path,
                self.request.remote_ip,
                reason,
            )
            self.close(1008, reason.encode()[:123].decode(errors="ignore"))
            raise websocket.WebSocketClosedError()
        future = super().write_message(data, binary=binary)
        self.unsent_bytes += size
        self.max_unsent_bytes = max(self.max_unsent_bytes, self.unsent_bytes)
        future.add_done_callback(lambda done: self._sent(size, done))
        return future

    def _sent(self, size: int, future: asyncio.Future[None]) -> None:
        self.unsent_bytes -= size
        if not future.cancelled():
            future.exception()  # retrieved: a caller that does not await it logs nothing

    def on_message(self, message: str | bytes) -> None:
        """Clients send nothing; messages are ignored (a route that takes some overrides this)."""

    def on_close(self) -> None:
        """Drop the subscription ``open`` made."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def authorize(self, action: str = "read") -> None:
        """Ask Jupyter's Authorizer for ``action`` on ``auth_resource``; 403 when refused."""
        if not await self.is_authorized(action, self.auth_resource):
            raise web.HTTPError(
                403, f"You may not {action} {self.auth_description} ({self.auth_resource})."
            )

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authenticate, run :meth:`pre_get` (query, authorization, checks), then upgrade."""
        try:
            await self.pre_get()
            result = super().get(*args, **kwargs)
            if result is not None:
                await result
        finally:
            if self.ws_connection is None:
                self.on_refused()

    async def pre_get(self) -> None:
        """Check the query and authorize ``read`` on the route's resource, before the upgrade."""
        self.query()
        await self.authorize("read")

    def on_refused(self) -> None:
        """Called when the upgrade did not happen (a refusal, or a client that went away)."""


def capped(name: str, value: int, maximum: int) -> int:
    """``value`` when it is at most the server's configured ``maximum`` for query ``name``.

    Raises:
        ValidationError: It is over (the model checks the fixed bounds; this the configured one).
    """
    if value > maximum:
        raise ValidationError(f"Query parameter {name!r} must be at most {maximum}, not {value}.")
    return value
