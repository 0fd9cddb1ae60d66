"""The iog state dir: what ``iog up`` started, recorded so ``iog down`` stops exactly that.

The state dir is ``$IOG_HOME`` or ``~/.iog`` (mode 0700). It holds ``state.json`` (0600, no
secrets: tokens live in their own 0600 files and the state records only their paths), the Ray and
Jupyter token files, Jupyter's log, and a lock file that serialises ``up`` and ``down``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..core.local_head import LocalHead
from .errors import CliError

STATE_VERSION = 1
STATE_FILE = "state.json"


def state_dir_path() -> Path:
    """Where the iog state dir is (``$IOG_HOME`` or ``~/.iog``), without creating it."""
    raw = os.environ.get("IOG_HOME", "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".iog"


def state_dir() -> Path:
    """The iog state dir (``$IOG_HOME`` or ``~/.iog``), created with mode 0700."""
    path = state_dir_path()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    except OSError as err:
        raise CliError(f"Cannot use the iog state dir {path}: {err.strerror}.") from None
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable only by its owner (0600)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    os.chmod(path, 0o600)


class JupyterState(BaseModel):
    """The JupyterLab server ``iog up`` started.

    Attributes:
        pid: The server's pid (the leader of its own session).
        port: Its port on 127.0.0.1.
        url: Its base URL, without any token.
        token_path: The Jupyter token file (0600), passed to it as ``JUPYTER_TOKEN_FILE``.
        log_path: Where its stdout and stderr go.
        root_dir: The directory it serves.
        app: ``lab`` for JupyterLab, ``server`` for a bare Jupyter Server.
        allow_root: Whether it was allowed to run as root.
    """

    model_config = ConfigDict(extra="forbid")

    pid: int
    port: int
    url: str
    token_path: str
    log_path: str
    root_dir: str
    app: str = "lab"
    allow_root: bool = False


class UpState(BaseModel):
    """Everything ``iog up`` started, as recorded in ``state.json``.

    Unknown top-level keys (from a newer iog) are kept and written back unchanged.
    """

    model_config = ConfigDict(extra="allow")

    version: int = STATE_VERSION
    head: LocalHead | None = None
    jupyter: JupyterState | None = None


def load_state(directory: Path) -> UpState | None:
    """Read ``state.json``; None when ``iog up`` has nothing running, CliError when unreadable."""
    path = directory / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise CliError(
            f"Cannot read {path} ({type(err).__name__}); remove it if nothing of iog runs."
        ) from None
    try:
        return UpState.model_validate(data)
    except ValueError:  # pydantic's ValidationError is a ValueError.
        raise CliError(f"{path} is not an iog state file; remove it if nothing runs.") from None


def save_state(directory: Path, state: UpState) -> None:
    """Write ``state.json`` (0600)."""
    write_private(directory / STATE_FILE, state.model_dump_json(indent=2) + "\n")


@contextlib.contextmanager
def state_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the state dir, so two ``up``/``down`` never interleave."""
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
