"""``iog up``: a local Ray head on loopback with token auth, plus JupyterLab.

``up`` records exactly what it started in the state dir, and ``down`` stops exactly that: the
Jupyter pid, and the Ray processes that live under the head's own temp dir. Never ``ray stop``,
which would also kill every other Ray cluster of the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..core import TOKEN_AUTH_SINCE, capabilities, local_head, no_token_auth
from ..core.errors import IogError
from . import jupyter_proc
from .down import TEMP_DIR_PREFIX, stop_all, stop_recorded
from .errors import EXIT_OK, EXIT_USAGE, CliError
from .options import command
from .output import to_json
from .state import UpState, load_state, save_state, state_dir, state_lock

log = logging.getLogger(__name__)

RAY_TOKEN_FILE = "ray_token"
JUPYTER_TOKEN_FILE = "jupyter_token"
JUPYTER_LOG_FILE = "jupyter.log"
#: The head's settings a restart keeps unless given again.
_KEPT = ("num_cpus", "num_gpus", "resources")
#: JupyterLab's folder unless --notebook-dir names one: the user's, never the current directory,
#: which for `scripts/up.sh` is the source checkout (saved notebooks would land in the source tree).
NOTEBOOKS_DIR = "~/iog-notebooks"


def add_parser(subparsers: Any, local: argparse.ArgumentParser) -> None:
    """Register ``up`` on the main parser's subparsers."""
    up = command(
        subparsers,
        "up",
        local,
        cmd_up,
        "start a local Ray head (loopback, token auth) and JupyterLab",
        "Start a local Ray head on 127.0.0.1 with token auth, then JupyterLab with "
        "iog_jupyter on 127.0.0.1, and print its URL. Idempotent: restarts only what died.",
        local_only="iog up",
    )
    up.add_argument("--num-cpus", type=_non_negative, help="CPUs the head advertises")
    up.add_argument("--num-gpus", type=_non_negative, help="GPUs the head advertises")
    up.add_argument(
        "--resources", type=_resources, help="custom resources as JSON, e.g. '{\"pool:train\": 2}'"
    )
    up.add_argument(
        "--multi-node",
        action="store_true",
        help="let worker nodes join (Ray then binds ports beyond loopback; the token guards them)",
    )
    up.add_argument(
        "--node-ip-address",
        help="with --multi-node: the address workers reach the head at (default: detected)",
    )
    up.add_argument("--port", type=_port, help="JupyterLab's port (default: a free one)")
    up.add_argument(
        "--notebook-dir",
        help=f"the directory JupyterLab serves (default: {NOTEBOOKS_DIR}, made with the tutorials)",
    )
    up.add_argument(
        "--allow-root",
        action="store_true",
        help="let JupyterLab run as root (implied when iog runs as root)",
    )
    up.add_argument(
        "--foreground",
        action="store_true",
        help="stay attached; Ctrl-C or SIGTERM stops everything",
    )


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError("must be between 1 and 65535")
    return value


def _resources(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a JSON object") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and v >= 0 for k, v in data.items()
    ):
        raise argparse.ArgumentTypeError("must map resource names to non-negative numbers")
    return json.dumps(data)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers themselves do, so that a port in TIME_WAIT still counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _same_or_free_port(port: int | None) -> int:
    """``port`` while it is free (a restart keeps its ports), else a free one on loopback."""
    return port if port is not None and _port_free(port) else local_head.free_port()


def _detect_node_ip() -> str:
    """The host's outbound address (no packet is sent), or loopback when there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def head_running(head: local_head.LocalHead) -> bool:
    """Whether the recorded head is whole: its GCS and raylet run and the GCS port answers."""
    if not Path(head.temp_dir).is_dir():
        return False
    cmdlines = [local_head.read_cmdline(pid) for pid in local_head.processes_under(head.temp_dir)]
    if not any(b"gcs_server" in c for c in cmdlines) or not any(b"raylet" in c for c in cmdlines):
        return False
    return local_head.wait_for_port(head.gcs_port, 2.0)


def _ensure_head(directory: Path, state: UpState, args: argparse.Namespace) -> bool:
    """Start the head unless the recorded one runs. Returns True when it was (re)started."""
    old = state.head
    given = {k: getattr(args, k) for k in _KEPT if getattr(args, k) is not None}
    if old is not None and head_running(old):
        if any(v != getattr(old, k) for k, v in given.items()) or (
            args.multi_node and old.single_node
        ):
            _note("The running head keeps its settings; run `iog down` first to change them.")
        return False
    if old is not None:
        leftovers = local_head.stop_head(old.temp_dir)
        log.info("Recorded head was not whole; stopped %d leftover processes.", leftovers)
    multi_node = args.multi_node or (old is not None and not old.single_node)
    if not local_head.ray_has_token_auth():
        # Without token auth a port beyond loopback runs code for anyone on the network.
        if args.multi_node:
            raise CliError(
                no_token_sentence() + " --multi-node would expose them; upgrade "
                "Ray, or run a one-machine head (without --multi-node).",
                EXIT_USAGE,
            )
        multi_node = False
        _note("warning: " + no_token_sentence() + " The head keeps every Ray port on 127.0.0.1.")
    if old is not None and Path(old.temp_dir).is_dir():
        temp_dir = old.temp_dir
    else:
        base = "/tmp" if Path("/tmp").is_dir() else tempfile.gettempdir()
        temp_dir = tempfile.mkdtemp(prefix=TEMP_DIR_PREFIX, dir=base)
    gcs_port = _same_or_free_port(old.gcs_port if old else None)
    dash_port = _same_or_free_port(old.dashboard_port if old else None)
    node_ip = "127.0.0.1"
    if multi_node:
        node_ip = args.node_ip_address or (old.node_ip_address if old else "") or _detect_node_ip()
    head = local_head.LocalHead(
        temp_dir=temp_dir,
        gcs_port=gcs_port,
        dashboard_port=dash_port,
        token_path=str(directory / RAY_TOKEN_FILE),
        single_node=not multi_node,
        **((old.model_dump(include=set(_KEPT)) if old else {}) | given),
        node_ip_address=node_ip,
    )
    if multi_node:
        _note(
            "--multi-node: Ray binds its GCS and raylet ports beyond loopback so workers can "
            f"join; the Ray token ({head.token_path}) is then the only guard. Firewall those "
            "ports, and copy the token to workers as a 0600 file."
        )
    _note(f"Starting a Ray head on {head.address} (temp dir {temp_dir})...")
    if multi_node:
        _note(
            f"Workers join with RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=<token copy> "
            f"ray start --address={node_ip}:{gcs_port}"
        )
    state.head = head
    save_state(directory, state)
    try:
        local_head.start_head(**head.model_dump())  # the arguments it records
    except IogError:
        stop_all(directory, state)  # start_head stopped its processes; drop the rest too.
        raise
    if local_head.ray_has_token_auth():
        os.chmod(head.token_path, 0o600)
    return True


def _notebooks_dir() -> str:
    """:data:`NOTEBOOKS_DIR`, made on first use with copies of the tutorial notebooks.

    Only then: the user's edits and deletions stay.
    """
    folder = Path(NOTEBOOKS_DIR).expanduser()
    if not folder.exists():
        folder.mkdir(parents=True)
        # The tutorials: a source checkout's notebooks/, else what the wheel installed.
        sources = [Path(__file__).parents[2], Path(sys.prefix) / "share" / "iog-jupyter"]
        found = next((p / "notebooks" for p in sources if (p / "notebooks").is_dir()), None)
        for tutorial in sorted(found.glob("*.ipynb")) if found else ():
            shutil.copyfile(tutorial, folder / tutorial.name)
        _note(f"Made {folder} for your notebooks, with copies of the tutorials.")
    return str(folder)


def no_token_sentence() -> str:
    """What a Ray without token authentication means, in one sentence, with what to do."""
    return (
        f"{no_token_auth(capabilities().version)}: its ports run code for anyone who can reach "
        f"them; upgrade Ray to >= {TOKEN_AUTH_SINCE} to get RAY_AUTH_MODE=token."
    )


def _ensure_jupyter(
    directory: Path, state: UpState, args: argparse.Namespace, head_moved: bool
) -> tuple[bool, str]:
    """Start Jupyter unless the recorded one answers. Returns (started, token)."""
    assert state.head is not None
    old = state.jupyter
    if old is not None and jupyter_proc.is_running(old):
        token = jupyter_proc.read_token(old.token_path)
        if not head_moved:
            try:
                jupyter_proc.wait_until_ready(old, token, deadline_s=15.0)
            except CliError:
                log.info("Recorded Jupyter (pid %d) does not answer; restarting it.", old.pid)
            else:
                if (args.port is not None and args.port != old.port) or (
                    args.notebook_dir is not None
                    and Path(args.notebook_dir).expanduser().resolve() != Path(old.root_dir)
                ):
                    _note(
                        "The running JupyterLab keeps its port and directory; run `iog down` first."
                    )
                return False, token
        jupyter_proc.stop_jupyter(old)
    if args.port is not None and not _port_free(args.port):
        raise CliError(f"Port {args.port} on 127.0.0.1 is in use; pick another --port.", EXIT_USAGE)
    port = args.port or _same_or_free_port(old.port if old else None)
    root_dir = args.notebook_dir or (old.root_dir if old else None) or _notebooks_dir()
    root = Path(root_dir).expanduser().resolve()
    if not root.is_dir():
        raise CliError(f"--notebook-dir {root} is not a directory.", EXIT_USAGE)
    # A restart keeps the token (and the port, if free), so open browser tabs keep working.
    token_path = local_head.ensure_token_file(directory / JUPYTER_TOKEN_FILE)
    token = token_path.read_text().strip()
    _note(f"Starting JupyterLab on 127.0.0.1:{port} (log {directory / JUPYTER_LOG_FILE})...")
    if os.geteuid() == 0:
        _note("Running as root: JupyterLab gets --allow-root (it refuses root otherwise).")
    jupyter = jupyter_proc.start_jupyter(
        state.head,
        port,
        str(root),
        str(token_path),
        str(directory / JUPYTER_LOG_FILE),
        allow_root=args.allow_root or bool(old and old.allow_root),
    )
    state.jupyter = jupyter
    save_state(directory, state)
    try:
        jupyter_proc.wait_until_ready(jupyter, token)
    except CliError:
        jupyter_proc.stop_jupyter(jupyter, grace_s=5.0)
        token_path.unlink(missing_ok=True)
        state.jupyter = None
        save_state(directory, state)
        raise
    return True, token


def cmd_up(args: argparse.Namespace) -> int:
    """Bring up (or find running) the local Ray head and JupyterLab, and print the URL."""
    directory = state_dir()
    with state_lock(directory):
        state = load_state(directory) or UpState()
        old_address = state.head.address if state.head else None
        head_started = False
        try:
            head_started = _ensure_head(directory, state, args)
            assert state.head is not None
            moved = head_started and old_address != state.head.address
            jupyter_started, token = _ensure_jupyter(directory, state, args, moved)
        except (IogError, CliError) as err:
            if head_started and state.head is not None and state.jupyter is None:
                stop_all(directory, state)
            raise err if isinstance(err, CliError) else CliError(err.message) from None
    head, jupyter = state.head, state.jupyter
    assert head is not None and jupyter is not None
    url = f"{jupyter.url}{'lab' if jupyter.app == 'lab' else 'tree'}?token={token}"
    started = [n for n, did in (("ray_head", head_started), ("jupyter", jupyter_started)) if did]
    if args.json:
        reply = {
            "url": url,
            "ray_address": head.address,
            "single_node": head.single_node,
            "ray_token_auth": local_head.ray_has_token_auth(),
            "jupyter_pid": jupyter.pid,
            "state_dir": str(directory),
            "started": started,
        }
        print(to_json(reply))
    else:
        if not started:
            print("Already up.")
        mode = "single-node, every Ray port on 127.0.0.1" if head.single_node else "multi-node"
        if local_head.ray_has_token_auth():
            guard = f"Ray token in {head.token_path}"
        else:
            guard = f"no Ray token (Ray {capabilities().version} has none)"
        print(f"Ray head: {head.address} ({mode}); {guard}")
        print(f"JupyterLab (pid {jupyter.pid}, log {jupyter.log_path}):")
        print(f"    {url}")
        print("Stop both with `iog down`.")
    sys.stdout.flush()
    if args.foreground:
        return _attend(directory)
    return EXIT_OK


def _note(text: str) -> None:
    """Progress and warnings go to stderr, so stdout stays the result (the URL, or JSON)."""
    print(text, file=sys.stderr, flush=True)


def _attend(directory: Path) -> int:
    """Stay attached until Ctrl-C, SIGTERM or Jupyter's exit; then stop everything."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # as Ctrl-C
    try:
        _note("Running in the foreground; press Ctrl-C to stop.")
        while True:
            state = load_state(directory)
            if state is None or state.jupyter is None or not jupyter_proc.is_running(state.jupyter):
                _note("Jupyter is gone; stopping.")
                break
            time.sleep(1.0)
    except KeyboardInterrupt:
        _note("Stopping...")
    finally:
        signal.signal(signal.SIGTERM, previous)
    result = stop_recorded(directory)
    if result is not None:
        _note(f"Stopped JupyterLab and the Ray head ({result['ray_processes']} processes).")
    return EXIT_OK
