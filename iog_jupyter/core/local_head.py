"""Start and stop a local Ray head on loopback with token auth.

Used by ``iog up`` / ``iog down`` and by the test fixtures. Everything a head started here runs
lives under one temp dir of its own, so stopping it kills exactly those processes, never another
Ray on the same machine (``ray stop`` would kill every Ray process of the user).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .errors import IogError

log = logging.getLogger(__name__)

#: How often ``start_head`` tries ``ray start`` when Ray's own startup deadline is missed.
START_ATTEMPTS = 2
#: The Ray Client server's module, as its command line names it.
CLIENT_SERVER = b"ray.util.client.server"
#: What ``ray start`` must not inherit from the caller's environment (the head sets its own).
_HEAD_ENV = (
    "RAY_ADDRESS",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_MODE",
    "RAY_AUTH_TOKEN_PATH",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
)


class LocalHead(BaseModel):
    """A local head: where it lives and what it was started with (``iog up`` records it).

    Attributes:
        temp_dir: Ray's temp dir; every process of this head mentions it on its command line.
        gcs_port: The GCS port on 127.0.0.1.
        dashboard_port: The dashboard port on 127.0.0.1.
        token_path: The Ray token file (0600).
        single_node: Whether every Ray port stays on loopback.
        num_cpus, num_gpus, resources: The ``--num-cpus``, ``--num-gpus`` and ``--resources``
            (JSON) given, if any.
        node_ip_address: The address the head advertises to other nodes.
    """

    model_config = ConfigDict(extra="forbid")

    temp_dir: str
    gcs_port: int
    dashboard_port: int
    token_path: str
    single_node: bool = True
    num_cpus: int | None = None
    num_gpus: int | None = None
    resources: str | None = None
    node_ip_address: str = "127.0.0.1"

    @property
    def address(self) -> str:
        """The GCS address (``127.0.0.1:<port>``)."""
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        """The dashboard URL on loopback."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    def env(self) -> dict[str, str]:
        """Environment for clients of this head: address, auth mode and the token's path.

        The auth variables are left out where the installed Ray has no token authentication
        (before 2.52): such a Ray ignores them, and setting them would claim a guard that is not
        there.

        A single-node head also needs ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` in its clients
        (``ray status``, ``ray.init()``, the job client): without it they rewrite 127.0.0.1 to
        the host's address, where a single-node head does not listen.
        """
        env = {"RAY_ADDRESS": self.address}
        if ray_has_token_auth():
            env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": self.token_path})
        if self.single_node:
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        return env


def ray_has_token_auth() -> bool:
    """Whether the installed Ray (the one ``ray start`` here runs) has token authentication."""
    from . import _ray_compat

    return _ray_compat.capabilities().token_auth


def with_this_python_first(env: dict[str, str]) -> dict[str, str]:
    """Put this environment's bin directory first on ``env``'s PATH (changed in place).

    Jobs, workers, terminals and kernels then run ``python`` and ``ray`` from the environment
    that has Ray, not the system's.
    """
    bindir = os.path.dirname(sys.executable)
    if env.get("PATH", "").split(os.pathsep)[0] != bindir:
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "")]).rstrip(os.pathsep)
    return env


def free_port() -> int:
    """A TCP port free on loopback right now."""
    return free_ports(1)[0]


def free_ports(count: int, exclude: Iterable[int] = ()) -> list[int]:
    """``count`` distinct TCP ports free on loopback right now, none of them in ``exclude``.

    The sockets stay bound until all are found, so the OS cannot hand out one port twice (it
    readily reuses a port just closed, which once gave two Ray agents the same port).
    """
    excluded = set(exclude)
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket()
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in excluded:
                ports.append(port)
                excluded.add(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def ensure_token_file(path: str | Path) -> Path:
    """Create a Ray token file readable only by its owner (0600), or tighten one; its path."""
    token_path = Path(path).expanduser()
    token_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not token_path.exists() or not token_path.read_text().strip():
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    os.chmod(token_path, 0o600)
    return token_path


def _ray_executable() -> str:
    candidate = Path(sys.executable).with_name("ray")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ray")
    if not found:
        raise IogError("The `ray` command was not found; install iog-jupyter's dependencies.")
    return found


def _ray_env(head: LocalHead) -> dict[str, str]:
    """The environment of ``ray start``: the head's client environment, without an address.

    Single-node mode keeps every Ray port (GCS, raylet, client server) on 127.0.0.1.
    """
    env = {k: v for k, v in os.environ.items() if k not in _HEAD_ENV}
    env.update(head.env(), RAY_USAGE_STATS_ENABLED="0")
    del env["RAY_ADDRESS"]
    return with_this_python_first(env)


def wait_for_port(port: int, deadline_s: float) -> bool:
    """Wait until something listens on ``127.0.0.1:port``."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def start_head(
    temp_dir: str | Path,
    token_path: str | Path,
    gcs_port: int | None = None,
    dashboard_port: int | None = None,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    resources: str | None = None,
    single_node: bool = True,
    start_timeout_s: float = 120.0,
    node_ip_address: str = "127.0.0.1",
) -> LocalHead:
    """Run ``ray start --head`` on loopback with token auth, its state under ``temp_dir``.

    Where the installed Ray has no token authentication (before 2.52) no token file is made
    and none is claimed: the head then relies on loopback alone (``single_node``).

    Args:
        temp_dir: Ray's temp dir for this head (keep it short: Ray puts Unix sockets in it).
        token_path: The token file; created 0600 when missing (and Ray has token auth).
        gcs_port: GCS port; a free one when None.
        dashboard_port: Dashboard port; a free one when None.
        num_cpus: CPUs to advertise; Ray's detection when None.
        num_gpus: GPUs to advertise; Ray's detection when None.
        resources: Custom resources as JSON, for example ``'{"pool:train": 2}'``.
        single_node: Keep every port on loopback; no other node can join.
        start_timeout_s: How long to wait for the head.
        node_ip_address: The address the head advertises to other nodes; keep 127.0.0.1 unless
            workers on other machines must join (multi-node only).

    Raises:
        IogError: ``ray start`` failed; the message carries the end of its output.
    """
    token = ensure_token_file(token_path) if ray_has_token_auth() else Path(token_path)
    temp = Path(temp_dir)
    temp.mkdir(parents=True, exist_ok=True, mode=0o700)
    ports = free_ports(7, exclude=(p for p in (gcs_port, dashboard_port) if p))
    head = LocalHead(
        gcs_port=gcs_port or ports[0],
        dashboard_port=dashboard_port or ports[1],
        temp_dir=str(temp),
        token_path=str(token),
        single_node=single_node,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        resources=resources,
        node_ip_address=node_ip_address,
    )
    cmd = [
        _ray_executable(),
        "start",
        "--head",
        f"--node-ip-address={node_ip_address if not single_node else '127.0.0.1'}",
        f"--port={head.gcs_port}",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={head.dashboard_port}",
        "--include-dashboard=true",
        f"--temp-dir={head.temp_dir}",
        "--disable-usage-stats",
        f"--ray-client-server-port={ports[2]}",
        *_agent_port_flags(ports[3:]),
    ]
    flags = {"--num-cpus": num_cpus, "--num-gpus": num_gpus, "--resources": resources or None}
    cmd += [f"{flag}={value}" for flag, value in flags.items() if value is not None]
    for attempt in range(START_ATTEMPTS):
        try:
            _run_ray(cmd, _ray_env(head), start_timeout_s)
            if not wait_for_port(head.gcs_port, 30):
                raise IogError(f"Ray's GCS did not open port {head.gcs_port}; see {head.temp_dir}.")
            # `ray start --head` always starts the Ray Client server (port 0 is refused), and on a
            # multi-node head it listens beyond loopback. Ray Client stays shut on an iog head:
            # stop it now, before anyone can connect; nothing in Ray restarts it.
            stop_processes(
                [p for p in processes_under(temp) if CLIENT_SERVER in read_cmdline(p)], grace_s=5.0
            )
            return head
        except IogError as err:
            # A failed start can leave a GCS or raylet behind; stop what lives under the temp dir.
            stop_head(head.temp_dir, grace_s=5.0)
            # Ray gives its raylet a fixed 30 s to register, which a loaded machine can miss.
            if attempt + 1 >= START_ATTEMPTS or "timed out during startup" not in err.message:
                raise
            log.warning("`ray start` timed out on a busy machine; trying once more.")
    raise AssertionError("unreachable")


def _agent_port_flags(ports: list[int]) -> list[str]:
    """Flags giving a node's agents four distinct free ports (from :func:`free_ports`).

    Ray's defaults (52365 for the dashboard agent, which runs the job API, 10001 for the client
    server, ...) are fixed, so a second Ray on the same machine (the cloud's head, a test head)
    would fail to bind them and silently lose its job API.
    """
    listen, grpc, metrics, runtime_env = ports
    return [
        f"--dashboard-agent-listen-port={listen}",
        f"--dashboard-agent-grpc-port={grpc}",
        f"--metrics-export-port={metrics}",
        f"--runtime-env-agent-port={runtime_env}",
    ]


def _run_ray(cmd: list[str], env: dict[str, str], timeout_s: float) -> None:
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise IogError(f"`ray start` did not finish within {timeout_s:.0f} s.") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise IogError(f"`ray start` failed (exit {done.returncode}):\n{tail}")


def read_cmdline(pid: int) -> bytes:
    """The command line of ``pid`` (NUL-separated), or ``b""`` when it is gone or hidden."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def _has_file_under(pid: int, prefix: str) -> bool:
    """Whether ``pid`` holds an open file under ``prefix`` (a directory path ending in ``/``)."""
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                    return True
    return False


def _mentions(cmdline: bytes, marker: bytes) -> bool:
    """Whether the command line names ``marker`` as a whole path or a path prefix."""
    return re.search(re.escape(marker) + rb'(?:[/\0 ,"]|$)', cmdline) is not None


def _ray_own(cmdline: bytes) -> bool:
    """Whether a command line is one of Ray's own processes that need not name the temp dir.

    Renamed workers and agents (``ray::IDLE``), the dashboard's module processes
    (``ray-dashboard-JobHead-0``) and their fork server, and Ray modules run with ``-m`` (the
    Ray Client server, ``python -m ray.util.client.server``).
    """
    return (
        cmdline.startswith((b"ray::", b"ray-dashboard-"))
        or b"\0-m\0ray." in cmdline
        or b"'ray.dashboard.subprocesses.module'" in cmdline
    )


def processes_under(temp_dir: str | Path) -> list[int]:
    """Pids of the processes of one head: everything that lives under ``temp_dir``.

    That is every process whose command line names ``temp_dir`` (GCS, raylet, dashboard,
    monitors), plus Ray's own processes that do not (:func:`_ray_own`: workers, agents, the
    dashboard's modules, the Ray Client server) when they descend from one of those or hold a file
    under ``temp_dir`` (an agent orphaned when its raylet died; the client server, whose parent
    ``ray start`` has exited, holds its logs there). Drivers of other programs are never
    included, though they may hold Ray's log files: they are none of Ray's own.
    """
    resolved = str(Path(temp_dir).resolve())
    marker = resolved.encode()
    prefix = resolved.rstrip("/") + "/"
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    cmdlines = {pid: read_cmdline(pid) for pid in pids if pid != os.getpid()}
    found = {pid for pid, cmdline in cmdlines.items() if _mentions(cmdline, marker)}
    own = [pid for pid, cmdline in cmdlines.items() if pid not in found and _ray_own(cmdline)]
    found |= {pid for pid in own if _has_file_under(pid, prefix)}
    parents = {pid: int(fields[1]) for pid in own if len(fields := _stat(pid)) > 1}
    while more := {pid for pid in own if pid not in found and parents.get(pid) in found}:
        found |= more
    return sorted(found)


def stop_processes(pids: list[int], grace_s: float = 10.0) -> int:
    """SIGTERM the pids, then SIGKILL what is left after ``grace_s``; how many there were."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if wait_gone(pids, wait_s):
            break
    return len(pids)


def wait_gone(pids: list[int], timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` until none of ``pids`` runs; whether none does.

    Those that are this process's children are reaped on the way (``iog up --foreground``).
    """
    end = time.monotonic() + timeout_s
    while any(is_alive(p) for p in pids):
        reap(pids)
        if time.monotonic() >= end:
            return False
        time.sleep(0.1)
    return True


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie awaiting its parent's wait() does not count)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def reap(pids: list[int]) -> None:
    """Collect the exit status of those of ``pids`` that are this process's children."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def stop_head(temp_dir: str | Path, grace_s: float = 10.0) -> int:
    """Stop every process of the head (and its local workers) under ``temp_dir``; how many.

    The GCS goes last: while it answers, the raylet and Ray's monitors stop within a second of
    SIGTERM; with it gone first they wait out their reconnect timeouts (about 10 s), then
    ``grace_s``.
    """
    pids = processes_under(temp_dir)
    gcs = [pid for pid in pids if _is_gcs(read_cmdline(pid))]
    stop_processes([pid for pid in pids if pid not in gcs], grace_s)
    stop_processes(gcs, grace_s)
    return len(pids)


def _is_gcs(cmdline: bytes) -> bool:
    """Whether a command line is Ray's GCS server."""
    return cmdline.split(b"\0", 1)[0].endswith(b"/gcs_server")
