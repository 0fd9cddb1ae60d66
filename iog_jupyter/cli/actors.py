"""``iog actors list|kill|reap``: detached actors, locally or through a Jupyter server.

Remote mode (``--url`` or ``IOG_URL``, token in ``IOG_TOKEN``) uses the server's REST API, where
kills are authorized and audited. Local mode talks to the GCS directly (as ``ray`` would), with
the same protections: Ray's internal actors, job supervisors, iog's own namespace and ``serve``
are refused. ``reap`` runs one TTL-reaper pass now, in local mode (a server reaps by itself
every ``actor_reap_interval_s``).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.actors.records import DEFAULT_PROTECTED_NAMESPACES, parse_states
from ..core.actors.registry import ActorRegistry
from ..core.connection import RayConnection
from ..core.wire import DEFAULT_LIMIT, MAX_LIMIT, ActorKillReply
from .errors import EXIT_OK, EXIT_USAGE, CliError
from .modes import local_connection, run
from .options import command, group
from .output import clean, collect, emit, format_table, when


def add_parser(
    subparsers: Any, remote: argparse.ArgumentParser, local: argparse.ArgumentParser
) -> None:
    """Register ``actors`` and its subcommands on the main parser's subparsers."""
    sub = group(subparsers, "actors", remote, "list, kill and reap detached actors", __doc__)
    listing = command(sub, "list", remote, cmd_list, "list detached actors")
    listing.add_argument("--namespace", "-n", metavar="NS", help="only this namespace")
    listing.add_argument("--state", metavar="S[,S]", help="only these states (ALIVE, ...)")
    listing.add_argument("--prefix", metavar="P", help="only names starting with P")
    listing.add_argument(
        "--named", action="store_true", help="every named actor, not only detached ones"
    )
    listing.add_argument(
        "--limit", type=int, metavar="N", help=f"at most N (default {DEFAULT_LIMIT})"
    )
    listing.add_argument("--all", action="store_true", help="every actor (follows the pages)")
    kill = command(sub, "kill", remote, cmd_kill, "kill a named actor (no restart)")
    kill.add_argument("name", metavar="NAME")
    kill.add_argument("--namespace", "-n", required=True, metavar="NS", help="its namespace")
    reap = "kill actors whose TTL ran out, now"
    command(sub, "reap", local, cmd_reap, reap, local_only="iog actors reap")


def _registry(conn: RayConnection) -> ActorRegistry:
    return ActorRegistry(conn, DEFAULT_PROTECTED_NAMESPACES)


def _page(args: argparse.Namespace, cursor: str | None) -> dict[str, Any]:
    detached = None if args.named else True
    return run(
        args,
        lambda client: client.request(
            "GET",
            "actors",
            params={
                "detached": "true" if detached else None,
                "namespace": args.namespace,
                "state": args.state,
                "prefix": args.prefix,
                "limit": args.limit,
                "cursor": cursor,
            },
        ),
        lambda conn: _registry(conn).list(
            detached=detached,
            namespace=args.namespace,
            states=parse_states(args.state),
            limit=args.limit or DEFAULT_LIMIT,
            cursor=cursor,
            prefix=args.prefix,
        ),
    )


def format_actors_table(actors: Iterable[Mapping[str, Any]]) -> str:
    """The ``iog actors list`` table; every value is cleaned of control characters."""
    rows = [("NAMESPACE", "NAME", "STATE", "CLASS", "OWNER", "CREATED", "TTL", "EXPIRES")]
    for a in actors:
        rows.append(
            (
                clean(a.get("namespace") or ""),
                clean(a.get("name") or ""),
                clean(a.get("state") or ""),
                clean(a.get("class_name") or ""),
                clean(a.get("owner") or "-"),
                when(a.get("created")),
                "-" if a.get("ttl_s") is None else f"{a['ttl_s']:g}s",
                when(a.get("expires")),
            )
        )
    return format_table(rows)


def cmd_list(args: argparse.Namespace) -> int:
    """``iog actors list``: a table (or ``--json``) of detached actors."""
    if args.limit is not None and not 1 <= args.limit <= MAX_LIMIT:
        raise CliError(f"--limit must be from 1 to {MAX_LIMIT}.", EXIT_USAGE)
    actors, page = collect(lambda cursor: _page(args, cursor), "actors", args.all)
    empty = "No named actors." if args.named else "No detached actors."
    text = format_actors_table(actors) if actors else empty
    emit(args.json, {"actors": actors, "total": page.get("total")}, text)
    return EXIT_OK


def cmd_kill(args: argparse.Namespace) -> int:
    """``iog actors kill NAME -n NS``."""
    reply = run(
        args,
        lambda client: client.request("DELETE", "actors", args.namespace, args.name),
        lambda conn: ActorKillReply(
            namespace=args.namespace,
            name=args.name,
            killed=True,
            actor=_registry(conn).kill(args.namespace, args.name),
        ),
    )
    emit(args.json, reply, f"Killed actor {clean(args.name)} in namespace {clean(args.namespace)}.")
    return EXIT_OK


def cmd_reap(args: argparse.Namespace) -> int:
    """``iog actors reap``: one reaper pass now (local mode)."""
    with contextlib.closing(local_connection()) as conn:
        reaped = _registry(conn).reap()
    lines = []
    for item in reaped:
        where = f"{clean(item.namespace)}/{clean(item.name)}"
        if item.reason == "expired":
            lines.append(f"Killed {where}: its TTL of {item.ttl_s or 0:g} s ran out.")
        else:
            lines.append(f"Dropped the record of {where}: the actor is gone.")
    text = "\n".join(lines) or "Nothing to reap."
    emit(args.json, {"reaped": [vars(item) for item in reaped]}, text)
    return EXIT_OK
