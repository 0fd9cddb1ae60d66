"""``iog down``: stop exactly what ``iog up`` started, and nothing else.

The Jupyter server is stopped by its recorded pid, the Ray head by the processes that live under
its own temp dir (``local_head.stop_head``). Never ``ray stop``: it would also kill every other
Ray cluster of the user.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from ..core import local_head
from . import jupyter_proc
from .errors import EXIT_OK
from .options import command
from .output import emit
from .state import STATE_FILE, UpState, load_state, state_dir, state_lock

#: Prefix of the head temp dirs ``iog up`` creates (short: Ray puts Unix sockets in them).
TEMP_DIR_PREFIX = "iog-"


def add_parser(subparsers: Any, local: argparse.ArgumentParser) -> None:
    """Register ``down`` on the main parser's subparsers."""
    description = "Stop exactly the Jupyter server and Ray head that `iog up` started."
    text = "stop what `iog up` started"
    command(subparsers, "down", local, cmd_down, text, description, local_only="iog down")


def stop_all(directory: Path, state: UpState) -> dict[str, Any]:
    """Stop Jupyter, then the head's processes; remove their temp dir, tokens and the state."""
    result: dict[str, Any] = {"jupyter_pid": None, "ray_processes": 0}
    if state.jupyter is not None:
        if jupyter_proc.stop_jupyter(state.jupyter):
            result["jupyter_pid"] = state.jupyter.pid
        _remove_in(directory, state.jupyter.token_path)
    if state.head is not None:
        result["ray_processes"] = local_head.stop_head(state.head.temp_dir)
        temp = Path(state.head.temp_dir)
        if temp.name.startswith(TEMP_DIR_PREFIX) and temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        _remove_in(directory, state.head.token_path)
    (directory / STATE_FILE).unlink(missing_ok=True)
    return result


def stop_recorded(directory: Path) -> dict[str, Any] | None:
    """Under the state lock, :func:`stop_all` what the state records; None when nothing is."""
    with state_lock(directory):
        state = load_state(directory)
        return None if state is None else stop_all(directory, state)


def _remove_in(directory: Path, path: str) -> None:
    """Delete a file we wrote, only if it lies in the state dir."""
    target = Path(path)
    if target.parent.resolve() == directory.resolve():
        target.unlink(missing_ok=True)


def cmd_down(args: argparse.Namespace) -> int:
    """Stop exactly what ``iog up`` started; a no-op with a message when nothing is up."""
    directory = state_dir()
    result = stop_recorded(directory)
    text = f"Nothing to stop: `iog up` has nothing running (state dir {directory})."
    if result is not None:
        parts = [f"the Ray head ({result['ray_processes']} processes)"]
        if result["jupyter_pid"] is not None:
            parts.insert(0, f"JupyterLab (pid {result['jupyter_pid']})")
        text = "Stopped " + " and ".join(parts) + "."
    emit(args.json, {"stopped": result}, text)
    return EXIT_OK
