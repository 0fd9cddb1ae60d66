"""Start, probe and stop the JupyterLab server that ``iog up`` runs next to its Ray head.

JupyterLab listens on 127.0.0.1 only and runs detached (its own session, output to a log file in
the state dir). Its token reaches it through ``JUPYTER_TOKEN_FILE`` (a 0600 file), never through
its command line, which ``ps`` shows to every user, nor as a value in its environment, which its
kernels inherit and a notebook could print.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from ..core import local_head
from .errors import CliError
from .state import JupyterState

#: Environment variables a child Jupyter must not inherit from ``iog up``'s environment.
_DROPPED_ENV = ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", "RAY_AUTH_TOKEN", "IOG_TOKEN", "IOG_URL")


def jupyter_env(head: local_head.LocalHead, token_path: str) -> dict[str, str]:
    """The environment of the Jupyter server: the head's address and token path, no secrets."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    env.update(head.env())
    env["JUPYTER_TOKEN_FILE"] = token_path
    local_head.with_this_python_first(env)
    # A source checkout (not pip-installed) must stay importable by the server.
    parent = str(Path(__file__).resolve().parents[2])
    if "site-packages" not in parent and "dist-packages" not in parent:
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if parent not in paths:
            env["PYTHONPATH"] = os.pathsep.join([parent, *paths])
    return env


def jupyter_command(port: int, root_dir: str, allow_root: bool = False) -> tuple[list[str], str]:
    """The argv of the server and ``"lab"`` (JupyterLab, when installed) or ``"server"``.

    As root (containers, cloud head nodes) the server gets ``--allow-root`` whatever
    ``allow_root`` says: without it Jupyter exits at once.
    """
    app = "lab" if importlib.util.find_spec("jupyterlab") else "server"
    module = "jupyterlab" if app == "lab" else "jupyter_server"
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.jpserver_extensions=iog_jupyter=True",
        # Every request must authenticate, whatever an extension forgets to declare.
        "--ServerApp.allow_unauthenticated_access=False",
    ]
    if allow_root or os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd, app


def start_jupyter(
    head: local_head.LocalHead,
    port: int,
    root_dir: str,
    token_path: str,
    log_path: str,
    allow_root: bool = False,
) -> JupyterState:
    """Start the server for ``head`` detached, in its own session, output to ``log_path`` (0600).

    The token file reaches it as ``JUPYTER_TOKEN_FILE``; a failure to start is a :class:`CliError`.
    """
    cmd, app = jupyter_command(port, root_dir, allow_root)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(log_path, 0o600)
    try:
        proc = subprocess.Popen(
            cmd,
            env=jupyter_env(head, token_path),
            cwd=root_dir,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as err:
        raise CliError(f"Could not start Jupyter ({err.strerror}).") from None
    finally:
        os.close(fd)
    # The server outlives this process: state.json tracks it by pid, not this Popen.
    return JupyterState(
        pid=proc.pid,
        port=port,
        url=f"http://127.0.0.1:{port}/",
        token_path=token_path,
        log_path=log_path,
        root_dir=root_dir,
        app=app,
        allow_root="--allow-root" in cmd,
    )


def read_token(path: str) -> str:
    """The Jupyter token from its 0600 file (a :class:`CliError` when the file is gone)."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        raise CliError(f"The Jupyter token file {path} is missing; run `iog down`.") from None


def is_running(state: JupyterState) -> bool:
    """Whether the recorded pid is still our Jupyter (alive, and its argv names our port)."""
    if not local_head.is_alive(state.pid):
        return False
    return f"--ServerApp.port={state.port}".encode() in local_head.read_cmdline(state.pid)


def wait_until_ready(state: JupyterState, token: str, deadline_s: float = 120.0) -> None:
    """Wait until the server answers with the token; CliError if it exits or is late."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if not local_head.is_alive(state.pid):
            local_head.reap([state.pid])
            try:  # the log's last lines, on one line, without the token
                lines = Path(state.log_path).read_text(errors="replace").strip().splitlines()
            except OSError:
                lines = ["(no log)"]
            tail = " | ".join(line.strip() for line in lines[-3:])
            tail = tail.replace(token, "<token>") if token else tail
            raise CliError(f"Jupyter exited during startup; see {state.log_path}: {tail}")
        with contextlib.suppress(requests.RequestException):
            reply = requests.get(
                state.url + "api/status",
                headers={"Authorization": f"token {token}"},
                timeout=2.0,
                allow_redirects=False,
            )
            if reply.status_code == 200:
                return
        time.sleep(0.3)
    raise CliError(
        f"Jupyter did not answer on port {state.port} within {deadline_s:.0f} s; "
        f"see {state.log_path}."
    )


def stop_jupyter(state: JupyterState, grace_s: float = 15.0) -> bool:
    """Stop the server: SIGTERM (it shuts its kernels down), then SIGKILL its process group.

    Returns True if a running server was stopped.
    """
    if not is_running(state):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGTERM)
    if not local_head.wait_gone([state.pid], grace_s):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # The server leads its own session and process group (start_new_session=True).
            if os.getpgid(state.pid) == state.pid:
                os.killpg(state.pid, signal.SIGKILL)
            else:
                os.kill(state.pid, signal.SIGKILL)
    local_head.reap([state.pid])
    return True
