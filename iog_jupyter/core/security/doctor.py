"""``doctor``: security and health checks of the Ray head and the Jupyter server, each with a fix.

Every check answers ``ok``, ``warn`` or ``fail`` with a message a person can act on and, unless it
is ``ok``, the fix. Ray-side checks probe the way an attacker on the network would: with **no**
token. Jupyter-side checks read the running server's settings (:class:`JupyterFacts`), which the
handler (``GET doctor``) or the CLI (``iog doctor``) collects.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import stat
from dataclasses import dataclass
from typing import Any

import requests

from .. import _ray_compat
from ..connection import RayConnection
from ..wire import FAIL, OK, WARN, Check, DoctorReport

log = logging.getLogger(__name__)

#: Processes of a Ray node whose listening sockets the port check looks at.
RAY_PROCESS_MARKERS = ("gcs_server", "raylet", "dashboard", "ray_client_server", "ray::")
_PROBE_TIMEOUT_S = 2.0


@dataclass
class JupyterFacts:
    """What the running Jupyter server is configured to do (read from its ServerApp).

    ``allow_origin``, ``allow_origin_pat``, ``allow_unauthenticated_access`` and ``ip`` are the
    ServerApp's settings; ``auth_enabled``: the identity provider requires a token or password;
    ``xsrf_enabled``: ``disable_check_xsrf`` is False; ``tls``: it has a ``certfile``;
    ``proxy_enabled``: jupyter-server-proxy is loaded as a server extension; ``proxy_hosts``: its
    ``host_allowlist``, the hosts ``/proxy/<host>:<port>`` may reach (None: a function decides);
    ``jobs_backend``: the one in use (None before the first job call); ``jobs_backend_change``:
    set when jobs ran on another backend before this server started.
    """

    auth_enabled: bool
    xsrf_enabled: bool
    allow_origin: str = ""
    allow_origin_pat: str = ""
    allow_unauthenticated_access: bool = False
    tls: bool = False
    ip: str = "127.0.0.1"
    proxy_enabled: bool = False
    proxy_hosts: tuple[str, ...] | None = ("localhost", "127.0.0.1")
    jobs_backend: str | None = None
    jobs_backend_change: str | None = None

    @classmethod
    def from_serverapp(cls, serverapp: Any, jobs_backend: str | None = None) -> JupyterFacts:
        """Read the facts from a running ``jupyter_server.serverapp.ServerApp``."""
        proxy = serverapp.extension_manager.extensions.get("jupyter_server_proxy")
        return cls(
            auth_enabled=serverapp.identity_provider.auth_enabled,
            xsrf_enabled=not serverapp.disable_check_xsrf,
            allow_origin=serverapp.allow_origin,
            allow_origin_pat=serverapp.allow_origin_pat,
            allow_unauthenticated_access=serverapp.allow_unauthenticated_access,
            tls=bool(serverapp.certfile),
            ip=serverapp.ip,
            proxy_enabled=proxy is not None and proxy.enabled,
            proxy_hosts=_proxy_hosts(serverapp),
            jobs_backend=jobs_backend,
        )

    def insecure_reasons(self) -> list[str]:
        """Why mutating iog endpoints should refuse on this server (empty when none)."""
        reasons = []
        if not self.auth_enabled:
            reasons.append("Jupyter authentication is disabled")
        if not self.xsrf_enabled:
            reasons.append("Jupyter's XSRF check is disabled")
        if self.allow_origin == "*":
            reasons.append("allow_origin is '*'")
        return reasons


def _proxy_hosts(serverapp: Any) -> tuple[str, ...] | None:
    """jupyter-server-proxy's ``host_allowlist`` as this server configures it (None: a function)."""
    try:
        from jupyter_server_proxy.config import ServerProxy

        allowlist = ServerProxy(parent=serverapp).host_allowlist
    except Exception:  # noqa: BLE001 - not installed, or a version without the setting
        return ()
    return None if callable(allowlist) else tuple(allowlist)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return address.is_loopback or bool(mapped and mapped.is_loopback)


# -- Ray ---------------------------------------------------------------------------------------


def check_token_file(conn: RayConnection, fix: bool = False) -> Check:
    """The Ray token file must be readable by its owner only (Ray writes it 0644); fix: chmod."""
    info = conn.token_info
    check = functools.partial(Check, "ray_token_file")
    caps = _ray_compat.capabilities()
    if not caps.token_auth:
        if info.token is not None:
            where = info.path or info.source
            return check(
                WARN,
                f"A Ray token ({where}) is present, but Ray {caps.version} has no token "
                "authentication and ignores it: it guards nothing.",
                f"Remove the stale token ({where}), or upgrade Ray to "
                f">= {_ray_compat.TOKEN_AUTH_SINCE} and start it with RAY_AUTH_MODE=token.",
            )
        return check(
            OK, f"Ray {caps.version} has no token authentication, so no token file applies."
        )
    if info.token is None:
        return check(
            FAIL,
            "No Ray token was found, so iog cannot authenticate to Ray (or Ray runs without one).",
            "Start Ray with RAY_AUTH_MODE=token (`iog up` does) and point RAY_AUTH_TOKEN_PATH at "
            "its token file.",
        )
    if not info.path:
        return check(OK, f"The Ray token comes from {info.source}, not a file.")
    try:
        mode = stat.S_IMODE(os.stat(info.path).st_mode)
    except OSError as err:
        return check(WARN, f"Cannot stat the token file: {err.strerror}.")
    if mode & 0o077:
        if fix:
            os.chmod(info.path, 0o600)
            return check(OK, f"The Ray token file {info.path} was mode {mode:o}; it is now 600.")
        return check(
            FAIL,
            f"The Ray token file {info.path} is mode {mode:o}: other users of this machine can "
            "read the token and run code on the cluster.",
            f"chmod 600 {info.path}   (or `iog doctor --fix`)",
        )
    return check(OK, f"The Ray token file {info.path} is mode {mode:o}.")


def _grpc_answers_without_token(address: str) -> bool | None:
    """Whether a GCS-style gRPC port answers a call that carries no token (None: no answer)."""
    import grpc

    _ray_compat.import_ray()
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    channel = grpc.insecure_channel(address)
    try:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=_PROBE_TIMEOUT_S)
        return True
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return False
        return None
    finally:
        channel.close()


def _http_answers_without_token(url: str) -> bool | None:
    try:
        reply = requests.get(url, timeout=_PROBE_TIMEOUT_S)
    except requests.RequestException:
        return None
    if reply.status_code in (401, 403):
        return False
    return reply.status_code < 400


def check_ray_auth(conn: RayConnection) -> Check:
    """Ray's GCS and dashboard must refuse a caller with no token.

    A Ray without token authentication (before 2.52) fails this check whatever it answers:
    its ports run code for anyone who reaches them, the local machine's other users included.
    """
    caps = _ray_compat.capabilities()
    check = functools.partial(Check, "ray_auth_mode")
    if not caps.token_auth:
        return check(
            FAIL,
            f"{_ray_compat.no_token_auth(caps.version)}: its GCS, dashboard and Jobs API run "
            "code for anyone who can reach their ports (CVE-2023-48022).",
            "Firewall Ray's ports to the cluster's own nodes (a one-machine head can keep every "
            "port on 127.0.0.1, as `iog up` does), and upgrade Ray to "
            f">= {_ray_compat.TOKEN_AUTH_SINCE} and restart it with RAY_AUTH_MODE=token.",
        )
    gcs = _grpc_answers_without_token(conn.address)
    try:
        dashboard = _http_answers_without_token(conn.dashboard_url.rstrip("/") + "/api/version")
    except Exception as err:  # noqa: BLE001 - the dashboard URL may be undiscoverable
        log.debug("doctor: no dashboard URL: %s", err)
        dashboard = None
    if gcs or dashboard:
        where = " and ".join(
            name for name, open_ in (("the GCS", gcs), ("the dashboard", dashboard)) if open_
        )
        return check(
            FAIL,
            f"Ray answers without a token ({where}): anyone who reaches it can run code "
            "(CVE-2023-48022).",
            f"Restart Ray with RAY_AUTH_MODE=token (Ray >= {_ray_compat.TOKEN_AUTH_SINCE}), as "
            "`iog up` does.",
        )
    if gcs is None and dashboard is None:
        return check(WARN, f"Ray did not answer at {conn.address}; auth not verified.")
    return check(OK, "Ray refuses callers without the token (token auth on).")


def _ray_listeners(gcs_port: str) -> list[tuple[str, int, str]]:
    """``(ip, port, process)`` of the listening TCP sockets of this Ray node's processes.

    A host may run several Ray clusters (a test head beside the user's); a process belongs to
    this one when its command line names the GCS port (``--gcs-address=…:PORT``,
    ``--gcs_server_port=PORT``).
    """
    import psutil

    found = []
    names: dict[int, str] = {}
    marks = (f":{gcs_port}", f"={gcs_port}")
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status != psutil.CONN_LISTEN or not conn.pid:
            continue
        if conn.pid not in names:
            try:
                proc = psutil.Process(conn.pid)
                cmdline = proc.cmdline()
                ours = any(m in arg for arg in cmdline for m in marks)
                names[conn.pid] = (" ".join(cmdline[:3]) or proc.name()) if ours else ""
            except psutil.Error:
                names[conn.pid] = ""
        name = names[conn.pid]
        if name and any(marker in name for marker in RAY_PROCESS_MARKERS):
            found.append((conn.laddr.ip, conn.laddr.port, os.path.basename(name.split()[0])))
    return sorted(set(found), key=lambda t: t[1])


def check_ray_ports(conn: RayConnection) -> Check:
    """Which Ray ports on this host listen beyond loopback, and whether they demand the token."""
    check = functools.partial(Check, "ray_ports")
    try:
        listeners = _ray_listeners(conn.address.rsplit(":", 1)[-1])
    except Exception as err:  # noqa: BLE001 - psutil needs permissions some hosts withhold
        return check(WARN, f"Could not list Ray's listening ports ({err}).")
    exposed = [(ip, port, name) for ip, port, name in listeners if not _is_loopback(ip)]
    if not exposed:
        return check(OK, f"All {len(listeners)} listening Ray ports on this host are loopback.")
    open_ports, http_open, guarded = [], [], []
    for ip, port, name in exposed:
        host = "127.0.0.1" if ip in ("0.0.0.0", "::") else ip
        label = f"{port} ({name} on {ip})"
        answered = _grpc_answers_without_token(f"{host}:{port}")
        if answered:
            open_ports.append(label)
        elif answered is None and _http_answers_without_token(f"http://{host}:{port}/"):
            http_open.append(label)
        else:
            guarded.append(label)
    if open_ports:
        return check(
            FAIL,
            "Ray ports beyond loopback answer without a token: " + ", ".join(open_ports) + ".",
            "Enable token auth, and firewall these ports to the cluster's own nodes.",
        )
    parts = [
        f"{what}: {', '.join(labels)}"
        for what, labels in (
            ("Ray ports listen beyond loopback (they demand the token)", guarded),
            ("these serve HTTP without a token (metrics or status)", http_open),
        )
        if labels
    ]
    return check(
        WARN,
        "; ".join(parts) + ".",
        "Multi-node Ray needs some of these; firewall them to the cluster's nodes. A single-node "
        "head can keep them on loopback (`iog up` does).",
    )


def check_ray_version() -> Check:
    """The installed Ray's version, and what degrades on it (a warning for each lack)."""
    caps = _ray_compat.capabilities()
    lacks = [n for n in caps.notes if "token authentication" not in n]  # ray_auth_mode says that
    if not lacks:
        return Check("ray_version", OK, f"Ray {caps.version}: every iog_jupyter feature is on.")
    return Check(
        "ray_version",
        WARN,
        " ".join(lacks),
        "Upgrade Ray on the whole cluster to get these features; iog_jupyter works as it is.",
    )


# -- Jupyter -----------------------------------------------------------------------------------


def _either(id: str, passed: bool, ok: str, status: str, problem: str, fix: str) -> Check:
    """``ok`` when ``passed``, else ``problem`` with its ``fix`` at ``status``."""
    return Check(id, OK, ok) if passed else Check(id, status, problem, fix)  # type: ignore[arg-type]


def jupyter_checks(facts: JupyterFacts) -> list[Check]:
    """Every Jupyter-side check, in a stable order."""
    if not facts.auth_enabled:
        auth = Check(
            "jupyter_auth",
            FAIL,
            "Jupyter authentication is disabled: anyone who reaches the server owns the cluster.",
            "Remove `--IdentityProvider.token=''` / `--ServerApp.token=''` and restart.",
        )
    else:
        auth = _either(
            "jupyter_auth",
            not facts.allow_unauthenticated_access,
            "Jupyter requires a token or password.",
            WARN,
            "allow_unauthenticated_access is on: handlers without their own check are open.",
            "Set c.ServerApp.allow_unauthenticated_access = False.",
        )
    where = "TLS is on" if facts.tls else f"the server listens on {facts.ip} only"
    backend = facts.jobs_backend or "not chosen yet (chosen on the first job call)"
    return [
        auth,
        _either(
            "jupyter_xsrf",
            facts.xsrf_enabled,
            "XSRF checks are on.",
            FAIL,
            "XSRF checks are disabled: another web page the user visits can drive this server.",
            "Remove `disable_check_xsrf=True` from the server's configuration.",
        ),
        _either(
            "jupyter_origin",
            facts.allow_origin != "*" and facts.allow_origin_pat not in (".*", ".+"),
            "Cross-origin calls are not allowed.",
            FAIL,
            "Any web origin may call this server (allow_origin='*').",
            "Unset c.ServerApp.allow_origin, or list the exact origins that need it.",
        ),
        _either(
            "jupyter_tls",
            facts.tls or _is_loopback(facts.ip),
            f"Tokens do not cross the network in clear: {where}.",
            WARN,
            f"The server listens on {facts.ip or 'all interfaces'} without TLS: tokens "
            "cross the network in clear.",
            "Serve it behind HTTPS (a TLS proxy, or c.ServerApp.certfile/keyfile).",
        ),
        _proxy_check(facts),
        Check(
            "jobs_backend",
            WARN if facts.jobs_backend_change else OK,
            f"Jobs backend: {backend}."
            + (f" {facts.jobs_backend_change}" if facts.jobs_backend_change else ""),
        ),
    ]


def _proxy_check(facts: JupyterFacts) -> Check:
    """jupyter-server-proxy: fine while it reaches only this host (its default allowlist).

    A Jupyter user reaches this host's ports from a terminal or kernel anyway, so ``/proxy/<port>``
    adds nothing there (Ray's token still guards Ray's); other hosts in the allowlist would make
    this server a door into the cluster's network.
    """
    hosts = facts.proxy_hosts
    if not facts.proxy_enabled:
        return Check("server_proxy", OK, "jupyter-server-proxy's /proxy/ route is off.")
    if hosts is not None and all(_is_loopback(host) for host in hosts):
        return Check(
            "server_proxy",
            OK,
            "jupyter-server-proxy's /proxy/<port> route reaches this host's own ports only "
            f"(host_allowlist {', '.join(hosts) or 'empty'}), as a Jupyter terminal does; Ray's "
            "token still guards Ray's.",
        )
    allowed = "decided by a function" if hosts is None else ", ".join(hosts)
    return Check(
        "server_proxy",
        WARN,
        f"jupyter-server-proxy's /proxy/<host>:<port> route reaches other hosts (host_allowlist "
        f"{allowed}): any Jupyter user can reach their ports through this server.",
        "Keep c.ServerProxy.host_allowlist to localhost and 127.0.0.1 (its default), and use "
        "iog's read-only dashboard at iog/dashboard/ instead of /proxy/<dashboard port>/.",
    )


def run_doctor(
    conn: RayConnection, facts: JupyterFacts | None = None, fix: bool = False
) -> DoctorReport:
    """Run every check (Jupyter's only when ``facts`` are given); ``fix`` as in the token check."""
    conn.prepare_ray_client()
    checks = [
        check_ray_version(),
        check_ray_auth(conn),
        check_token_file(conn, fix=fix),
        check_ray_ports(conn),
    ]
    if facts is not None:
        checks += jupyter_checks(facts)
    return DoctorReport(checks=checks)
