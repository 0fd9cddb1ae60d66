"""``iog status``: the cluster, from Ray directly (local mode) or from a Jupyter server (remote).

Local mode uses ``iog_jupyter.core`` (the same GCS call as ``ray status``); :mod:`.modes` says
which Ray each mode reaches and where the token comes from.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from typing import Any

from .._version import __version__
from ..client import IogClient, IogClientError
from ..core.cluster import get_cluster_snapshot
from ..core.errors import IogError
from .errors import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, exit_code_of
from .modes import local_connection, make_client, native_logs_hidden
from .options import command
from .output import format_status, to_json


def add_parser(subparsers: Any, remote: argparse.ArgumentParser) -> None:
    """Register ``status`` on the main parser's subparsers."""
    parser = command(
        subparsers,
        "status",
        remote,
        cmd_status,
        "show nodes, resources and demands (like `ray status`)",
        "Show the cluster's nodes by state and pool, resource usage, and pending or "
        "infeasible demands with their reasons. Remote mode: --url (or IOG_URL), with the "
        "Jupyter token in IOG_TOKEN.",
    )
    parser.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="print again every SECONDS until Ctrl-C",
    )


def report(client: IogClient | None, verbose: bool = False) -> dict[str, Any]:
    """``{"status": ..., "cluster": ...}`` from a Jupyter server's REST API, or from Ray.

    Raises IogClientError (from a server) or RayUnavailableError (exit 3, from Ray).
    """
    if client is not None:
        return {route: client.request("GET", route) for route in ("status", "cluster")}
    with native_logs_hidden(verbose), contextlib.closing(local_connection()) as conn:
        snapshot = get_cluster_snapshot(conn)
        theirs, ours = conn.cluster_version(), conn.describe().version
        if theirs and theirs != ours:
            print(
                f"warning: the cluster runs Ray {theirs}, this Python has Ray {ours}; use Ray "
                f"{theirs} here if anything fails.",
                file=sys.stderr,
            )
        status = {
            "version": __version__,
            "mode": "local",
            "ray": conn.describe(connected=True).model_dump(mode="json"),
        }
        return {"status": status, "cluster": snapshot.model_dump(mode="json")}


def cmd_status(args: argparse.Namespace) -> int:
    """Print the cluster status once, or every ``--watch`` seconds until Ctrl-C."""
    if args.watch is not None and args.watch < 0.5:
        raise CliError("--watch must be at least 0.5 seconds.", EXIT_USAGE)
    client = make_client(args.url) if args.url else None
    try:
        while True:
            try:
                result = report(client, args.verbose)
            except (CliError, IogClientError, IogError) as err:
                if args.watch is None or exit_code_of(err) != EXIT_UNAVAILABLE:
                    raise
                print(f"iog: {err.message}", file=sys.stderr, flush=True)
                time.sleep(args.watch)
                continue
            if args.json:
                print(to_json(result), flush=True)
            else:
                status = {**result["status"], "server": client and client.url}
                print(format_status(status, result["cluster"]), flush=True)
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
