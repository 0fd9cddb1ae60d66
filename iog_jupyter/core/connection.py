"""How iog_jupyter reaches Ray without becoming a Ray driver: addresses, the token, timeouts.

The Jupyter server process must never call ``ray.init``: a driver whose GCS is gone for 60 s is
terminated by Ray, and a Ray head restart must not take JupyterLab down. So everything here
talks to Ray through clients: the GCS client behind ``ray status`` and HTTP to the dashboard on
loopback, with the Ray token added server-side.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from . import _ray_compat
from .errors import (
    RayTokenRefusedError,
    RayUnavailableError,
    RayVersionMismatchError,
    ValidationError,
)
from .wire import RayInfo

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_GCS_ADDRESS = "127.0.0.1:6379"
DEFAULT_RAY_TMPDIR = "/tmp/ray"
HOW_TO_START_RAY = (
    "Start a Ray head on this machine with `iog up` (or `ray start --head`), or point iog_jupyter "
    "at a running cluster with RAY_ADDRESS or IogJupyterApp.ray_address."
)


@dataclass(frozen=True)
class TokenInfo:
    """Where the Ray token was found, and whether its file is readable by others.

    The token itself is kept out of ``repr()`` so it never lands in a log line by accident.
    """

    token: str | None = field(repr=False)
    source: str
    path: str | None = None
    world_readable: bool = False


@functools.cache
def _warn_once(message: str) -> None:
    """Log a warning once per process (each connection would otherwise repeat it)."""
    log.warning("iog_jupyter: %s", message)


def find_ray_token(token_path: str | None = None) -> TokenInfo:
    """Find the Ray auth token in Ray's own places, in Ray's order (``token_path`` first).

    ``token`` is None in the answer when there is none.
    """
    candidates: list[tuple[str, str]] = []
    if token_path:
        candidates.append(("IogJupyterApp.ray_token_path", token_path))
    env_token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if env_token and not token_path:
        return TokenInfo(token=env_token, source="RAY_AUTH_TOKEN")
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        candidates.append(("RAY_AUTH_TOKEN_PATH", os.environ["RAY_AUTH_TOKEN_PATH"]))
    candidates.append(("~/.ray/auth_token", str(Path.home() / ".ray" / "auth_token")))
    for source, raw_path in candidates:
        path = Path(raw_path).expanduser()
        try:
            text = path.read_text().strip()
            mode = path.stat().st_mode
        except OSError:
            continue
        if text:
            return TokenInfo(
                token=text,
                source=source,
                path=str(path),
                world_readable=bool(mode & (stat.S_IRGRP | stat.S_IROTH)),
            )
    return TokenInfo(token=None, source="none")


def normalize_gcs_address(address: str) -> str:
    """Check a GCS address (``host:port``) and return it in canonical form.

    Raises:
        ValidationError: The address is a Ray Client (``ray://``) or HTTP address, or malformed.
    """
    address = address.strip()
    if address.startswith("ray://"):
        raise ValidationError(
            f"{address!r} is a Ray Client address; iog_jupyter talks to the GCS directly. "
            "Use the head node's GCS address (host:6379)."
        )
    if "://" in address:
        raise ValidationError(f"{address!r} is a URL; give the GCS address as host:port.")
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"{address!r} is not a GCS address of the form host:port.")
    return f"{host}:{int(port)}"


def resolve_gcs_address(address: str | None = None) -> tuple[str, str]:
    """The GCS address (explicit, ``RAY_ADDRESS``, Ray's file, or the default) and its source.

    The source is a phrase saying where the address came from.
    """
    if address and address not in ("auto", "local"):
        return normalize_gcs_address(address), "configuration"
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env not in ("auto", "local"):
        return normalize_gcs_address(env), "RAY_ADDRESS"
    # The GCS address that the newest local ``ray start`` wrote.
    tmpdir = os.environ.get("RAY_TMPDIR") or DEFAULT_RAY_TMPDIR
    with contextlib.suppress(OSError):
        if from_file := (Path(tmpdir) / "ray_current_cluster").read_text().strip():
            return normalize_gcs_address(from_file), "ray_current_cluster"
    return DEFAULT_GCS_ADDRESS, "default"


class RayConnection:
    """A client-side handle on one Ray cluster. Thread-safe; never a Ray driver.

    Args:
        address: GCS address (``host:port``); discovered when None.
        dashboard_url: The dashboard's HTTP URL; read from the GCS when None.
        token_path: An explicit Ray token file; Ray's own places are searched otherwise.
        connect_timeout_s: Deadline for the TCP probe of the GCS port and for HTTP connects.
        request_timeout_s: Deadline for one Ray call.

    Example:
        >>> conn = RayConnection()  # doctest: +SKIP
        >>> conn.probe()  # raises RayUnavailableError when no head answers  # doctest: +SKIP
    """

    def __init__(
        self,
        address: str | None = None,
        dashboard_url: str | None = None,
        token_path: str | None = None,
        connect_timeout_s: float = 1.0,
        request_timeout_s: float = 10.0,
    ) -> None:
        self.address, self.address_source = resolve_gcs_address(address)
        self._configured_dashboard_url = dashboard_url or os.environ.get("RAY_DASHBOARD_ADDRESS")
        self._dashboard_url: str | None = None
        #: Where the token came from (the token itself stays out of ``repr``).
        self.token_info = find_ray_token(token_path)
        self.connect_timeout_s = connect_timeout_s
        self.request_timeout_s = request_timeout_s
        self._http = requests.Session()

    @functools.cached_property
    def auth_mode(self) -> str:
        """How iog authenticates to Ray: ``token``, ``disabled`` (Ray's word) or ``none``.

        ``none`` means the installed Ray has no token authentication at all (before 2.52): a
        token found in Ray's places is then ignored, with a warning, never sent or claimed.
        """
        env_mode = os.environ.get("RAY_AUTH_MODE", "").strip().lower()
        caps = _ray_compat.capabilities()
        if not caps.token_auth:
            if self.token_info.token is not None or env_mode == "token":
                _warn_once(
                    f"{_ray_compat.no_token_auth(caps.version)}; the Ray token from "
                    f"{self.token_info.source} and RAY_AUTH_MODE are ignored. Run `iog doctor`."
                )
            return "none"
        return env_mode or ("token" if self.token_info.token else "disabled")

    def prepare_ray_client(self) -> None:
        """Point this process's Ray clients at our token; call before each GCS call."""
        if self.auth_mode == "token":
            _ray_compat.use_token_auth(self.token_info.source, self.token_info.path)

    def describe(self, connected: bool = False) -> RayInfo:
        """Connection facts safe to show anyone who may read the cluster: never the token.

        ``version`` and ``capabilities`` are the installed Ray's (the cluster's own, on its head
        node), with a sentence for each feature that Ray lacks.
        """
        caps = _ray_compat.capabilities()
        return RayInfo(
            connected=connected,
            address=self.address,
            address_source=self.address_source,
            auth_mode=self.auth_mode,
            token_source=self.token_info.source,
            dashboard=self._dashboard_url or self._configured_dashboard_url,
            version=caps.version,
            capabilities=caps,
        )

    @property
    def where(self) -> str:
        """The address and where it came from, in words (the default address says so)."""
        if self.address_source == "default":
            return (
                f"{self.address} (Ray's default address: no RAY_ADDRESS, no `iog up` head and no "
                "Ray address file named another)"
            )
        return f"{self.address} (from {self.address_source})"

    def unavailable(self, detail: str) -> RayUnavailableError:
        """Build the error for an unreachable Ray: where we looked and how to start Ray."""
        return RayUnavailableError(
            f"Ray is not reachable at {self.where}: {detail}. " + HOW_TO_START_RAY
        )

    def failure(self, err: BaseException) -> RayUnavailableError:
        """What a failed Ray call means, in words: refused, another version, or unreachable.

        Ray answering with an authentication error is not "unreachable": the token is wrong,
        or this is somebody else's Ray (likely at the default address).
        """
        text = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        if "Authentication" in text or "InvalidAuthToken" in text or "Unauthenticated" in text:
            advice = (
                "This may be another user's Ray: start your own with `iog up`, or set RAY_ADDRESS."
                if self.address_source == "default"
                else "Give iog this cluster's token (RAY_AUTH_TOKEN_PATH or "
                "IogJupyterApp.ray_token_path)."
            )
            return RayTokenRefusedError(
                f"Ray at {self.where} answered but refused the token "
                f"(token from {self.token_info.source}). {advice}"
            )
        slow = ("imeout", "imed out", "DEADLINE")  # Ray's "Timed out", gRPC's DEADLINE_EXCEEDED
        if isinstance(err, TimeoutError) or any(word in text for word in slow):
            return self.unavailable(text)  # a slow GCS: asking it once more would only wait again
        theirs = self.cluster_version()
        ours = _ray_compat.capabilities().version
        if theirs and theirs != ours:
            return RayVersionMismatchError(
                f"Ray at {self.where} runs Ray {theirs}, but this Python has Ray {ours}; a client "
                f"must match its cluster. Use Ray {theirs} here (pip install 'ray[default]=="
                f"{theirs}'), or run iog on the cluster's head node. ({text})"
            )
        return self.unavailable(text)

    def cluster_version(self) -> str | None:
        """The Ray version the cluster recorded at start (None when it cannot be read)."""
        try:
            self.probe()  # a GCS gone since the call it answers: Ray's client would wait 40 s
            raw = _ray_compat.kv_get(self.address, b"CLUSTER_METADATA", b"cluster", 2.0)
            return str(json.loads(raw or b"{}").get("ray_version") or "") or None
        except Exception:  # noqa: BLE001 - a best-effort hint for an error already being raised
            return None

    def probe(self) -> None:
        """Check that the GCS port accepts connections, within ``connect_timeout_s``.

        Ray's own clients block for 30-90 s while the GCS is down, whatever timeout they are
        given, so every Ray call is preceded by this cheap TCP probe.

        Raises:
            RayUnavailableError: Nothing listens at the GCS address.
        """
        host, _, port = self.address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=self.connect_timeout_s):
                pass
        except OSError as err:
            raise self.unavailable(err.strerror or type(err).__name__) from None

    def gcs_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(address, *args, **kwargs)``: a GCS call after the probe, with our token.

        Raises:
            RayUnavailableError: Nothing listens at the GCS address, or the call failed with one
                of ``_ray_compat.gcs_errors()`` (in the words of :meth:`failure`).
        """
        self.probe()
        self.prepare_ray_client()
        try:
            return fn(self.address, *args, **kwargs)
        except _ray_compat.gcs_errors() as err:
            raise self.failure(err) from None

    @property
    def dashboard_url(self) -> str:
        """The dashboard's base URL, asked of the GCS once and cached until ``reset()``.

        Raises:
            RayUnavailableError: The GCS is down or the cluster runs without a dashboard.
        """
        if cached := self._dashboard_url:  # read once: reset() may run on another thread
            return cached
        url = self._configured_dashboard_url
        if not url:
            hostport = self.gcs_call(
                _ray_compat.kv_get, b"dashboard", b"dashboard", self.request_timeout_s
            )
            if not hostport:
                raise RayUnavailableError(
                    "This Ray cluster runs without a dashboard, so per-node usage and Ray's job "
                    "API are not available."
                )
            url = hostport.decode()
        self._dashboard_url = url = (url if "://" in url else f"http://{url}").rstrip("/")
        return url

    def reset(self) -> None:
        """Forget cached discoveries (the dashboard URL) after Ray was restarted."""
        self._dashboard_url = None

    def auth_headers(self) -> dict[str, str]:
        """The headers that carry the Ray token to the dashboard. Server-side use only."""
        if self.token_info.token is None or self.auth_mode != "token":
            return {}
        return {"Authorization": f"Bearer {self.token_info.token}"}

    def dashboard_get(self, path: str, timeout_s: float | None = None) -> Any:
        """GET a dashboard JSON endpoint (``/nodes?view=summary``) with the token; decoded JSON.

        ``timeout_s`` is the read deadline (``request_timeout_s`` when None).

        Raises:
            RayUnavailableError: The dashboard did not answer, refused the token, or sent junk.
        """
        url = self.dashboard_url + path
        try:
            reply = self._http.get(
                url,
                headers=self.auth_headers(),
                timeout=(self.connect_timeout_s, timeout_s or self.request_timeout_s),
            )
        except requests.RequestException as err:
            self.reset()
            raise RayUnavailableError(
                f"Ray's dashboard at {urlsplit(url).netloc} did not answer: {type(err).__name__}."
            ) from None
        if reply.status_code in (401, 403):
            raise RayUnavailableError(
                f"Ray's dashboard refused iog_jupyter's token ({reply.status_code}); check that "
                f"the Ray token ({self.token_info.source}) is the cluster's."
            )
        if reply.status_code >= 400:
            raise RayUnavailableError(
                f"Ray's dashboard answered {reply.status_code} for {urlsplit(url).path}."
            )
        try:
            return reply.json()
        except json.JSONDecodeError:
            raise RayUnavailableError("Ray's dashboard sent a reply that is not JSON.") from None

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._http.close()
