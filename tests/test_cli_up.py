"""`iog up` / `iog down` end to end: a real loopback Ray head plus JupyterLab, then a clean stop."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from iog_jupyter.core.local_head import (
    is_alive,
    processes_under,
    read_cmdline,
    start_head,
    stop_head,
    wait_for_port,
)
from tests.ray_versions import CAPS

pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+)")
CLIENT_SERVER = b"ray.util.client.server"  # the Ray Client server's module, on its command line
LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def _iog(*args: str, env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "iog_jupyter.cli", *args],
        cwd=REPO,  # as scripts/up.sh runs it: from the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _listening_sockets() -> dict[int, tuple[str, int]]:
    """inode -> (local address hex, port) of every listening TCP socket."""
    result = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            result[int(fields[9])] = (address, int(port, 16))
    return result


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def _listening_ports(pids: list[int]) -> dict[int, str]:
    """port -> local address (hex) of the listening TCP sockets the pids hold."""
    listening = _listening_sockets()
    owned = set().union(*(_socket_inodes(pid) for pid in pids)) & set(listening)
    return {listening[inode][1]: listening[inode][0] for inode in owned}


def _left_listening(ports: set[int], markers: list[bytes]) -> list[bytes]:
    """Command lines of the processes still listening on one of ``ports`` that name a marker.

    A freed port may be bound again at once by an unrelated process (the session head's workers
    pick from the same port range), so a listener counts as left over only when its process
    names what it belonged to: the head's temp dir, or Jupyter's ``--ServerApp.port=``.
    """
    inodes = {inode for inode, (_, port) in _listening_sockets().items() if port in ports}
    holders = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    lines = [read_cmdline(pid) for pid in holders if _socket_inodes(pid) & inodes]
    return [line for line in lines if any(marker in line for marker in markers)]


def _naming_port(port: int) -> list[bytes]:
    """Command lines of the processes that name ``port`` (``:PORT`` or ``=PORT``)."""
    pattern = re.compile(rb"[:=]%d(?![0-9])" % port)
    lines = [read_cmdline(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [line for line in lines if pattern.search(line)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cluster(base_url: str, token: str) -> dict:
    """GET iog/api/v1/cluster, retrying while the extension takes its first snapshot."""
    end = time.monotonic() + 60
    while True:
        reply = requests.get(
            base_url + "iog/api/v1/cluster", headers={"Authorization": f"token {token}"}, timeout=30
        )
        if reply.status_code == 200 or time.monotonic() > end:
            break
        time.sleep(1)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_up_status_down(ray_head, tmp_path):
    home = tmp_path / "iog-home"
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    user_home = tmp_path / "user"  # the user's ~, where ~/iog-notebooks goes
    user_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_", "JUPYTER_"))}
    env.update({"PYTHONPATH": REPO, "IOG_HOME": str(home), "HOME": str(user_home)})
    state_file = home / "state.json"
    try:
        if not CAPS.token_auth:
            # A Ray without token auth never gets ports beyond loopback from `iog up`.
            multi = _iog("up", "--multi-node", "--notebook-dir", str(notebooks), env=env)
            assert multi.returncode == 2, multi.stdout + multi.stderr
            assert "has no token authentication" in multi.stderr and "--multi-node" in multi.stderr
            assert not (home / "state.json").exists() or '"jupyter": null' in (
                home / "state.json"
            ).read_text().replace(" ", "")

        # An `up` that fails after starting the head (Jupyter's port is taken) leaves nothing.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = str(taken.getsockname()[1])
            failed = _iog("up", "--port", busy, "--notebook-dir", str(notebooks), env=env)
        assert failed.returncode == 2 and f"Port {busy}" in failed.stderr, failed.stderr
        gcs = re.search(r"Ray head on 127\.0\.0\.1:(\d+)", failed.stderr)
        assert gcs, failed.stderr
        assert _naming_port(int(gcs.group(1))) == [], "a process of the failed head is left"

        # No --notebook-dir, no --allow-root, run from the checkout: JupyterLab starts in
        # ~/iog-notebooks (made with the tutorials), even as root.
        first = _iog("up", "--num-cpus", "1", env=env)
        assert first.returncode == 0, first.stderr
        if os.geteuid() == 0:
            assert "Running as root: JupyterLab gets --allow-root" in first.stderr
        match = URL_RE.search(first.stdout)
        assert match, first.stdout
        port, token = int(match.group(1)), match.group(2)
        base_url = f"http://127.0.0.1:{port}/"
        assert token not in first.stderr
        assert "Traceback" not in first.stderr

        # Jupyter answers with the token, and not without it.
        auth = {"Authorization": f"token {token}"}
        assert requests.get(base_url + "api/status", headers=auth, timeout=10).status_code == 200
        assert requests.get(base_url + "api/status", timeout=10).status_code in (401, 403)
        cluster = _cluster(base_url, token)
        assert cluster["totals"]["CPU"] == 1.0

        # What was started is recorded, privately, without secrets.
        state = json.loads(state_file.read_text())
        head, jupyter = state["head"], state["jupyter"]
        assert jupyter["port"] == port and head["single_node"] is True
        assert token not in state_file.read_text()
        assert _mode(home) == 0o700
        for path in (state_file, Path(jupyter["token_path"])):
            assert _mode(path) == 0o600, path
        if CAPS.token_auth:
            assert _mode(Path(head["token_path"])) == 0o600
            ray_token = Path(head["token_path"]).read_text().strip()
            assert ray_token not in first.stdout + first.stderr
            assert f"Ray token in {head['token_path']}" in first.stdout
        else:
            # No token is made or claimed; the warning says what that means and what to do.
            assert not Path(head["token_path"]).exists()
            ray_token = "no-ray-token-exists"
            assert f"no Ray token (Ray {CAPS.version} has none)" in first.stdout
            assert "has no token authentication" in first.stderr and ">= 2.52" in first.stderr
            assert "every Ray port on 127.0.0.1" in first.stdout

        # The Jupyter token is in neither the server's argv nor its environment values.
        jpid = jupyter["pid"]
        assert token.encode() not in Path(f"/proc/{jpid}/cmdline").read_bytes()
        assert token.encode() not in Path(f"/proc/{jpid}/environ").read_bytes()
        tutorials = sorted(p.name for p in Path(REPO, "notebooks").glob("*.ipynb"))
        mine = user_home / "iog-notebooks"
        assert Path(jupyter["root_dir"]) == mine.resolve() != Path(REPO).resolve()
        assert tutorials and sorted(p.name for p in mine.iterdir()) == tutorials
        assert f"Made {mine} for your notebooks" in first.stderr
        (mine / tutorials[0]).write_text("{}")  # the user's edit, and a deletion
        (mine / tutorials[1]).unlink()
        assert token not in Path(jupyter["log_path"]).read_text()
        assert _mode(Path(jupyter["log_path"])) == 0o600

        # Single-node: every listening socket of the head and of Jupyter is on loopback; the
        # Ray Client server (which `ray start` always starts) is already gone.
        head_pids = processes_under(head["temp_dir"])
        assert head_pids
        ports = _listening_ports([*head_pids, jpid])
        assert head["gcs_port"] in ports and port in ports
        assert not [c for c in _naming_port(head["gcs_port"]) if CLIENT_SERVER in c]
        beyond = {p: a for p, a in ports.items() if a not in LOOPBACK_HEX}
        assert not beyond, f"ports bound beyond loopback: {beyond}"

        # `iog doctor` through this server finds no failure (Ray's side and Jupyter's), and
        # agrees with local `iog doctor` on this default install (jupyter-server-proxy loaded).
        doctor = _iog(
            "doctor", "--json", "--url", base_url, env={**env, "IOG_TOKEN": token}, timeout_s=120
        )
        report = json.loads(doctor.stdout)
        checks = {c["id"]: c["status"] for c in report["checks"]}
        local = json.loads(_iog("doctor", "--json", env=env, timeout_s=120).stdout)
        assert report["status"] == local["status"], (report, local)
        assert checks["server_proxy"] == "ok", report
        if CAPS.token_auth:
            assert doctor.returncode == 0, doctor.stdout + doctor.stderr
            assert report["status"] == ("warn" if CAPS.notes else "ok"), report
            assert checks["ray_auth_mode"] == "ok", report
        else:
            # Without token auth Ray's ports are open to every local user: a failure, said.
            assert doctor.returncode == 1, doctor.stdout + doctor.stderr
            assert report["status"] == checks["ray_auth_mode"] == "fail", report
        assert checks["ray_ports"] == checks["jupyter_xsrf"] == "ok", report
        assert ray_token not in doctor.stdout and token not in doctor.stdout

        # Local status without RAY_ADDRESS finds the recorded head.
        status = _iog("status", "--json", env=env, timeout_s=120)
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        assert data["status"]["ray"]["address"] == f"127.0.0.1:{head['gcs_port']}"
        assert data["cluster"]["totals"]["CPU"] == 1.0

        # A second `up` is idempotent: same URL, same processes.
        again = _iog("up", "--json", env=env, timeout_s=120)
        assert again.returncode == 0, again.stderr
        reply = json.loads(again.stdout)
        assert reply["url"] == match.group(0)
        assert reply["started"] == [] and reply["jupyter_pid"] == jpid
        core = {p for p in head_pids if b"gcs_server" in Path(f"/proc/{p}/cmdline").read_bytes()}
        assert core and core <= set(processes_under(head["temp_dir"]))

        # If Jupyter dies, `up` restarts only Jupyter, at the same URL.
        os.kill(jpid, signal.SIGKILL)
        end = time.monotonic() + 10
        while is_alive(jpid) and time.monotonic() < end:
            time.sleep(0.1)
        revived = _iog("up", "--json", env=env, timeout_s=180)
        assert revived.returncode == 0, revived.stderr
        reply = json.loads(revived.stdout)
        assert reply["started"] == ["jupyter"] and reply["jupyter_pid"] != jpid
        assert reply["url"] == match.group(0)
        assert core <= set(processes_under(head["temp_dir"]))
        assert requests.get(base_url + "api/status", headers=auth, timeout=10).status_code == 200
        jpid = reply["jupyter_pid"]
        assert (mine / tutorials[0]).read_text() == "{}" and not (mine / tutorials[1]).exists()

        # `down` stops exactly that, and leaves the session's head alone.
        down = _iog("down", env=env, timeout_s=120)
        assert down.returncode == 0, down.stderr
        assert "Stopped" in down.stdout
        assert processes_under(head["temp_dir"]) == []
        assert not is_alive(jpid)
        # Nothing of the head is left, listening or not (Ray's client server included).
        assert _naming_port(head["gcs_port"]) == []
        markers = [str(head["temp_dir"]).encode(), f"--ServerApp.port={port}".encode()]
        assert _left_listening(set(ports), markers) == []
        assert not state_file.exists()
        assert not Path(head["temp_dir"]).exists()
        assert not Path(jupyter["token_path"]).exists()
        assert wait_for_port(ray_head.gcs_port, 5)
        assert processes_under(ray_head.temp_dir)
        still = _iog("status", "--json", env={**env, **ray_head.env()}, timeout_s=120)
        assert still.returncode == 0, still.stderr

        # Nothing left: `down` again is a no-op with a message.
        noop = _iog("down", env=env, timeout_s=60)
        assert noop.returncode == 0 and "Nothing to stop" in noop.stdout
    finally:
        if state_file.exists():
            _iog("down", env=env, timeout_s=120)


def test_free_ports_are_distinct_and_skip_the_excluded():
    from iog_jupyter.core.local_head import free_ports

    first = free_ports(3)
    ports = free_ports(60, exclude=first)
    assert len(set(ports)) == 60 and not set(first) & set(ports)


def test_a_head_never_opens_the_ray_client_and_leaves_no_listener(tmp_path):
    """start_head/stop_head (as `iog up`/`down` and the fixtures use them): the Ray Client server
    that `ray start` always starts is stopped at once, every port stays on loopback for a
    single-node head, and nothing of the head is left listening after it stops."""
    temp_dir = tempfile.mkdtemp(prefix="iogc", dir="/tmp")
    head = start_head(temp_dir, tmp_path / "token", num_cpus=1, single_node=True)
    try:
        pids = processes_under(temp_dir)
        assert not [c for c in _naming_port(head.gcs_port) if CLIENT_SERVER in c]
        ports = _listening_ports(pids)
        assert head.gcs_port in ports and head.dashboard_port in ports
        beyond = {p: a for p, a in ports.items() if a not in LOOPBACK_HEX}
        assert not beyond, f"ports bound beyond loopback: {beyond}"
    finally:
        stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert _naming_port(head.gcs_port) == [] and not any(is_alive(p) for p in pids)
    assert _left_listening(set(ports), [temp_dir.encode()]) == []


def test_jupyter_is_allowed_root_when_iog_runs_as_root(monkeypatch):
    """Jupyter refuses root unless told; `iog up` tells it whenever it runs as root itself."""
    from iog_jupyter.cli import jupyter_proc

    for euid, allowed in ((0, True), (1000, False)):
        monkeypatch.setattr(jupyter_proc.os, "geteuid", lambda euid=euid: euid)
        assert ("--allow-root" in jupyter_proc.jupyter_command(8888, "/srv")[0]) is allowed
    assert "--allow-root" in jupyter_proc.jupyter_command(8888, "/srv", allow_root=True)[0]
