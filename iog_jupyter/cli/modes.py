"""Local mode and remote mode, chosen in one place for every command that has both.

Remote mode (``--url`` or ``IOG_URL``) asks a Jupyter server's REST API, with the Jupyter token
from ``IOG_TOKEN`` only: a token on the command line would be visible to every user through
``ps``. Local mode talks to Ray directly, as the local user; it uses ``RAY_ADDRESS``, else the
head ``iog up`` recorded, else Ray's own discovery.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from ..client import IogClient
from ..core.connection import RayConnection
from ..core.errors import ValidationError
from .errors import EXIT_USAGE, CliError
from .state import STATE_FILE, load_state, state_dir_path

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def local_connection() -> RayConnection:
    """A connection to the Ray that local mode should show.

    ``RAY_ADDRESS`` wins; otherwise the head ``iog up`` recorded; otherwise Ray's own discovery.

    Raises:
        CliError: ``RAY_ADDRESS`` is malformed (exit 2).
    """
    directory = state_dir_path()
    try:
        if not os.environ.get("RAY_ADDRESS") and (directory / STATE_FILE).is_file():
            state = load_state(directory)
            if state is not None and state.head is not None:
                conn = RayConnection(address=state.head.address, token_path=state.head.token_path)
                conn.address_source = f"`iog up` state in {directory}"
                return conn
        return RayConnection()
    except ValidationError as err:
        raise CliError(err.message, EXIT_USAGE) from None


def make_client(url: str) -> IogClient:
    """The REST client for ``url``, with the token from ``IOG_TOKEN`` and TLS verified.

    ``IOG_CA_BUNDLE`` names a CA bundle for servers with a private CA.
    """
    token = os.environ.get("IOG_TOKEN", "").strip() or None
    verify: bool | str = os.environ.get("IOG_CA_BUNDLE", "").strip() or True
    client = IogClient(url, token, verify_tls=verify)
    parts = urlsplit(client.url)
    if token and parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        print(
            f"warning: sending the Jupyter token to {parts.hostname} over plain http; "
            "use https beyond this machine.",
            file=sys.stderr,
        )
    return client


@contextlib.contextmanager
def native_logs_hidden(verbose: bool = False) -> Iterator[None]:
    """Keep Ray's C++ client logs out of the CLI's output (``-v`` shows them).

    Ray's client writes them (``gcs_client.cc:210 …``) straight to file descriptor 2; Python's
    own stderr still reaches the terminal.
    """
    try:
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a captured stream (tests): nothing to do
        python_on_fd2 = False
    if verbose or not python_on_fd2:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    python_stderr, sys.stderr = sys.stderr, os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        yield
    finally:
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


def run(
    args: argparse.Namespace,
    remote: Callable[[IogClient], Any],
    local: Callable[[RayConnection], Any],
) -> Any:
    """``remote(client)`` in remote mode, else ``local(conn)``; the client or connection is closed.

    A pydantic model from ``local`` becomes its wire JSON, so both modes give the same shape.
    """
    if args.url:
        with contextlib.closing(make_client(args.url)) as client:
            return remote(client)
    with native_logs_hidden(args.verbose), contextlib.closing(local_connection()) as conn:
        result = local(conn)
    return result.model_dump(mode="json") if isinstance(result, BaseModel) else result
