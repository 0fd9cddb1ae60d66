"""What every benchmark starts: a local Ray head and a Jupyter server with iog_jupyter.

Both are stopped exactly (the head by its temp dir, Jupyter by its pid), also on an error.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from iog_jupyter.core import local_head  # noqa: E402

API = "iog/api/v1/"


def start_worker_node(
    head: local_head.LocalHead,
    num_cpus: int = 1,
    resources: str | None = None,
    labels: str | None = None,
    start_timeout_s: float = 120.0,
) -> None:
    """Join one more local node to a multi-node head (a stand-in for a worker machine)."""
    cmd = [
        local_head._ray_executable(),
        "start",
        f"--address={head.address}",
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={num_cpus}",
        f"--temp-dir={head.temp_dir}",
        "--disable-usage-stats",
        *local_head._agent_port_flags(local_head.free_ports(4)),
    ]
    if resources:
        cmd.append(f"--resources={resources}")
    if labels:
        cmd.append(f"--labels={labels}")
    local_head._run_ray(cmd, local_head._ray_env(head), start_timeout_s)


def processes_of_node(temp_dir: str | Path, node_id: str | None = None) -> list[int]:
    """Pids of one head's raylets (optionally only the raylet of ``node_id``)."""
    pids = []
    for pid in local_head.processes_under(temp_dir):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"raylet" in cmdline and (node_id is None or node_id.encode() in cmdline):
            pids.append(pid)
    return pids


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class JupyterServer:
    """A Jupyter server subprocess with iog_jupyter enabled, pointed at one Ray head."""

    def __init__(
        self,
        head: local_head.LocalHead,
        work_dir: Path,
        extra_args: Sequence[str] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.token = secrets.token_hex(24)
        self.port = local_head.free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.headers = {"Authorization": f"token {self.token}"}
        self.session = requests.Session()
        self.session.headers.update(self.headers)
        env = dict(os.environ)
        env.pop("RAY_AUTH_TOKEN", None)
        env.update(head.env())
        env.update(
            {
                "JUPYTER_TOKEN": self.token,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
                "JUPYTER_RUNTIME_DIR": str(work_dir / "runtime"),
                **(extra_env or {}),
            }
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--ServerApp.jpserver_extensions={'iog_jupyter': True}",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={work_dir}",
            "--no-browser",
            "--allow-root",
            *extra_args,
        ]
        self.log_path = work_dir / f"jupyter-{self.port}.log"
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, deadline_s: float = 120.0) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Jupyter exited ({self.proc.returncode}); see {self.log_path}")
            try:
                reply = self.session.get(self.url + API + "status", timeout=5)
                if reply.ok and reply.json()["ray"]["connected"]:
                    return
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Jupyter with iog_jupyter not ready; see {self.log_path}")

    def get(self, path: str, **params: Any) -> Any:
        reply = self.session.get(self.url + API + path, params=params, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def stop(self) -> None:
        if os.environ.get("IOG_BENCH_KEEP_LOG"):
            shutil.copy(self.log_path, os.environ["IOG_BENCH_KEEP_LOG"])
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def ray_head(token_path: str, single_node: bool = True) -> Iterator[local_head.LocalHead]:
    temp_dir = tempfile.mkdtemp(prefix="iogb", dir="/tmp")  # short: Ray puts sockets in it
    log(f"starting a {'single' if single_node else 'multi'}-node Ray head in {temp_dir}")
    try:
        yield local_head.start_head(temp_dir, token_path, num_cpus=2, single_node=single_node)
    finally:
        stopped = local_head.stop_head(temp_dir)
        log(f"stopped {stopped} processes of the head in {temp_dir}")
        shutil.rmtree(temp_dir, ignore_errors=True)


@contextlib.contextmanager
def jupyter(server: JupyterServer) -> Iterator[JupyterServer]:
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
