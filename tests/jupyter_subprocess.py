"""Run a real Jupyter server (or JupyterLab) as a subprocess with iog_jupyter enabled.

Shared by the OpenAPI fuzz test and the browser tests: a loopback port, a random token, a temp
root dir, authentication on, this checkout first on ``PYTHONPATH``, and the Ray head's
environment inherited from the test process (the ``ray_head`` fixture exported it).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from iog_jupyter.core import local_head
from tests.fixtures import REPO, server_argv, server_config


@dataclass
class JupyterProcess:
    """A running Jupyter server subprocess: its URL (ending in ``/``), token and log file."""

    proc: subprocess.Popen[bytes]
    url: str
    token: str
    work: Path
    log_path: Path
    _log: Any = field(repr=False, default=None)

    @property
    def headers(self) -> dict[str, str]:
        """Token auth for API calls (no XSRF needed with a token)."""
        return {"Authorization": f"token {self.token}"}

    def api(self, method: str, path: str, body: Any = None, timeout_s: float = 60) -> Any:
        """Call ``{url}iog/api/v1/{path}``; returns the decoded JSON body (raises on 4xx/5xx)."""
        reply = requests.request(
            method,
            f"{self.url}iog/api/v1/{path}",
            headers=self.headers,
            json=body,
            timeout=timeout_s,
        )
        assert reply.ok, f"{method} {path}: {reply.status_code} {reply.text[:500]}"
        return reply.json() if reply.content else None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 20.0) -> None:
        """Terminate the server; kill it if it has not exited after ``grace_s``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


def start_jupyter(
    work: Path,
    config: dict[str, Any] | None = None,
    args: list[str] | None = None,
    module: str = "jupyter_server",
    env: dict[str, str] | None = None,
    startup_timeout_s: float = 120.0,
    python: str | None = None,
) -> JupyterProcess:
    """Start ``python -m <module>`` on a free loopback port and wait until iog_jupyter answers.

    Args:
        work: A fresh directory: root dir, runtime dir and ``jupyter.log`` live under it.
        config: The server's traits, as :func:`tests.fixtures.server_config` builds them
            (``server_config()``, iog_jupyter on with its default traits, when None).
        args: More command-line options (``--LabApp...``).
        module: ``jupyter_server`` for a bare server, ``jupyterlab`` for the Lab.
        env: Extra environment variables (after this process's environment).
        startup_timeout_s: How long to wait for ``GET iog/api/v1/status`` to answer 200.
        python: Another interpreter (a venv with an installed iog_jupyter); this checkout is
            then not put on its path.

    Returns:
        The running server; call :meth:`JupyterProcess.stop` when done.
    """
    token = secrets.token_hex(24)
    port = local_head.free_port()
    root = work / "root"
    root.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {}), "JUPYTER_TOKEN": token}
    if python is None:
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p
        )
    else:
        full_env.pop("PYTHONPATH", None)
    full_env.setdefault("JUPYTER_RUNTIME_DIR", str(work / "runtime"))
    local_head.with_this_python_first(full_env)
    cmd = [
        python or sys.executable,
        "-m",
        module,
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        *server_argv(config or server_config()),
        *(args or []),
    ]
    log_path = work / "jupyter.log"
    log = open(log_path, "wb")  # closed by JupyterProcess.stop()
    proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    server = JupyterProcess(proc, f"http://127.0.0.1:{port}/", token, work, log_path, log)
    status_url = server.url + "iog/api/v1/status"
    deadline = time.monotonic() + startup_timeout_s
    while True:
        try:
            reply = requests.get(status_url, headers=server.headers, timeout=5)
            if reply.ok:
                return server
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"Jupyter ({module}) did not start:\n{server.log_tail()}")
        time.sleep(0.25)
