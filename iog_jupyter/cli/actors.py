"""``iog actors list|kill|reap``: detached actors, locally or through a Jupyter server.

Remote mode (``--url`` or ``IOG_URL``, token in ``IOG_TOKEN``) uses the server's REST API, where
kills are authorized and audited. Local mode talks to the GCS directly (as ``ray`` would), with
the same protections: Ray's internal actors, job supervisors, iog's own namespace and ``serve``
are refused. ``reap`` runs one TTL-reaper pass now, in local mode (a server reaps by itself
every ``actor_reap_interval_s``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.actors.records import DEFAULT_PROTECTED_NAMESPACES
from ..core.actors.registry import ActorRegistry
from ..core.wire import DEFAULT_LIMIT, MAX_LIMIT
from .errors import EXIT_OK, EXIT_USAGE, CliError
from .output import clean, to_json
from .status import local_connection, make_client


def add_parser(
    subparsers: Any, remote: argparse.ArgumentParser, local: argparse.ArgumentParser
) -> None:
    """Register ``actors`` and its subcommands on the main parser's subparsers."""
    actors = subparsers.add_parser(
        "actors",
        parents=[remote],
        help="list, kill and reap detached actors",
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
    )
    sub = actors.add_subparsers(dest="actors_command", metavar="ACTORS_COMMAND")
    sub.required = True

    listing = sub.add_parser("list", parents=[remote], help="list detached actors")
    listing.add_argument("--namespace", "-n", metavar="NS", help="only this namespace")
    listing.add_argument("--state", metavar="S[,S]", help="only these states (ALIVE, ...)")
    listing.add_argument(
        "--named", action="store_true", help="every named actor, not only detached ones"
    )
    listing.add_argument(
        "--limit", type=int, metavar="N", help=f"at most N (default {DEFAULT_LIMIT})"
    )
    listing.add_argument("--all", action="store_true", help="every actor (follows the pages)")
    listing.set_defaults(handler=cmd_list)

    kill = sub.add_parser("kill", parents=[remote], help="kill a named actor (no restart)")
    kill.add_argument("name", metavar="NAME")
    kill.add_argument("--namespace", "-n", required=True, metavar="NS", help="its namespace")
    kill.set_defaults(handler=cmd_kill)

    reap = sub.add_parser("reap", parents=[local], help="kill actors whose TTL ran out, now")
    reap.set_defaults(handler=cmd_reap, local_only="iog actors reap")


def _local(fn_name: str, *args: Any, **kwargs: Any) -> Any:
    """Call one :class:`ActorRegistry` method on a local connection."""
    conn = local_connection()
    try:
        registry = ActorRegistry(conn, DEFAULT_PROTECTED_NAMESPACES)
        return getattr(registry, fn_name)(*args, **kwargs)
    finally:
        conn.close()


def _page(args: argparse.Namespace, cursor: str | None) -> dict[str, Any]:
    detached = None if args.named else True
    if args.url:
        client = make_client(args.url)
        try:
            return client.list_actors(
                detached="" if detached is None else "true",
                namespace=args.namespace,
                state=args.state,
                limit=args.limit,
                cursor=cursor,
            )
        finally:
            client.close()
    states = (
        frozenset(s.strip().upper() for s in args.state.split(",") if s.strip())
        if args.state
        else None
    )
    page = _local(
        "list",
        detached=detached,
        namespace=args.namespace,
        states=states or None,
        limit=args.limit or DEFAULT_LIMIT,
        cursor=cursor,
    )
    return page.model_dump(mode="json")


def _ttl(actor: Mapping[str, Any]) -> str:
    ttl = actor.get("ttl_s")
    return "-" if ttl is None else f"{ttl:g}s"


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
                clean(a.get("created") or "-")[:19].replace("T", " "),
                _ttl(a),
                clean(a.get("expires") or "-")[:19].replace("T", " "),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def cmd_list(args: argparse.Namespace) -> int:
    """``iog actors list``: a table (or ``--json``) of detached actors."""
    if args.limit is not None and not 1 <= args.limit <= MAX_LIMIT:
        raise CliError(f"--limit must be from 1 to {MAX_LIMIT}.", EXIT_USAGE)
    page = _page(args, None)
    actors = list(page.get("actors") or [])
    while args.all and page.get("next_cursor"):
        page = _page(args, page["next_cursor"])
        actors.extend(page.get("actors") or [])
    if args.json:
        print(to_json({"actors": actors, "total": page.get("total")}))
    elif actors:
        print(format_actors_table(actors))
    else:
        print("No detached actors." if not args.named else "No named actors.")
    return EXIT_OK


def cmd_kill(args: argparse.Namespace) -> int:
    """``iog actors kill NAME -n NS``."""
    if args.url:
        client = make_client(args.url)
        try:
            reply = client.kill_actor(args.namespace, args.name)
        finally:
            client.close()
    else:
        record = _local("kill", args.namespace, args.name)
        reply = {"namespace": args.namespace, "name": args.name, "killed": True}
        reply["actor"] = record.model_dump(mode="json")
    if args.json:
        print(to_json(reply))
    else:
        print(f"Killed actor {clean(args.name)} in namespace {clean(args.namespace)}.")
    return EXIT_OK


def cmd_reap(args: argparse.Namespace) -> int:
    """``iog actors reap``: one reaper pass now (local mode)."""
    reaped = _local("reap")
    items = [vars(item) for item in reaped]
    if args.json:
        print(to_json({"reaped": items}))
        return EXIT_OK
    for item in reaped:
        where = f"{clean(item.namespace)}/{clean(item.name)}"
        if item.reason == "expired":
            print(f"Killed {where}: its TTL of {item.ttl_s or 0:g} s ran out.")
        else:
            print(f"Dropped the record of {where}: the actor is gone.")
    if not reaped:
        print("Nothing to reap.")
    return EXIT_OK
