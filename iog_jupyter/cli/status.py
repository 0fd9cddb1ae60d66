"""``iog status``: the cluster, from Ray directly (local mode) or from a Jupyter server (remote).

Local mode uses ``iog_jupyter.core`` (the same GCS call as ``ray status``). When ``RAY_ADDRESS`` is
not set and ``iog up`` has a head running, that head is used. Remote mode (``--url`` or
``IOG_URL``) asks the server's REST API, with the Jupyter token from ``IOG_TOKEN`` only: a token
on the command line would be visible to every user through ``ps``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from .._version import __version__
from ..client import IogClient, IogClientError
from ..core.cluster import get_cluster_snapshot
from ..core.connection import RayConnection
from ..core.errors import RayUnavailableError, ValidationError
from .errors import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, exit_code_of
from .output import format_status, to_json
from .state import STATE_FILE, load_state, state_dir_path

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(subparsers: Any, remote: argparse.ArgumentParser) -> None:
    """Register ``status`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "status",
        parents=[remote],
        help="show nodes, resources and demands (like `ray status`)",
        description="Show the cluster's nodes by state and pool, resource usage, and pending or "
        "infeasible demands with their reasons. Remote mode: --url (or IOG_URL), with the "
        "Jupyter token in IOG_TOKEN.",
    )
    parser.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="print again every SECONDS until Ctrl-C",
    )
    parser.set_defaults(handler=cmd_status)


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


def local_report() -> dict[str, Any]:
    """``{"status": ..., "cluster": ...}`` straight from Ray.

    Raises:
        CliError: Ray is not reachable (exit 3), with where it looked and how to start Ray.
    """
    conn = local_connection()
    try:
        snapshot = get_cluster_snapshot(conn)
        status = {
            "version": __version__,
            "mode": "local",
            "ray": conn.describe(connected=True).model_dump(mode="json"),
        }
        return {"status": status, "cluster": snapshot.model_dump(mode="json")}
    except RayUnavailableError as err:
        raise CliError(err.message, EXIT_UNAVAILABLE) from None
    finally:
        conn.close()


def remote_report(client: IogClient) -> dict[str, Any]:
    """``{"status": ..., "cluster": ...}`` from a Jupyter server's REST API.

    Raises:
        IogClientError: The server could not be reached, refused the token, or Ray is down.
    """
    return {"status": client.get_status(), "cluster": client.get_cluster()}


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


def cmd_status(args: argparse.Namespace) -> int:
    """Print the cluster status once, or every ``--watch`` seconds until Ctrl-C."""
    client = make_client(args.url) if args.url else None
    if args.watch is not None and args.watch < 0.5:
        raise CliError("--watch must be at least 0.5 seconds.", EXIT_USAGE)
    try:
        while True:
            try:
                report = remote_report(client) if client else local_report()
            except (CliError, IogClientError) as err:
                if args.watch is None or exit_code_of(err) != EXIT_UNAVAILABLE:
                    raise
                print(f"iog: {err.message}", file=sys.stderr, flush=True)
                time.sleep(args.watch)
                continue
            if args.json:
                print(to_json(report), flush=True)
            else:
                status = dict(report["status"])
                if client is not None:
                    status["server"] = client.url
                print(format_status(status, report["cluster"]), flush=True)
            if args.watch is None:
                return EXIT_OK
            time.sleep(args.watch)
            if not args.json:
                print(flush=True)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        if client is not None:
            client.close()
