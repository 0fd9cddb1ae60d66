"""``iog sessions list|release``: which Ray drivers (notebooks, scripts, jobs) hold what.

Remote mode (``--url`` or ``IOG_URL``, token in ``IOG_TOKEN``) asks the Jupyter server, which
joins its kernels with Ray's drivers (notebook path, kernel state, idle time, idle policy) and
audits releases. Local mode reads Ray's drivers directly: no kernel state or idle time, and a
release acts as the local user with the local Ray token. Ray's own drivers (``internal``) are
never released, in either mode.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.sessions.drivers import check_session_id, list_sessions, release_session
from ..core.wire import SessionList
from .errors import EXIT_OK, EXIT_USAGE, CliError
from .modes import run
from .options import command, group
from .output import clean, emit, format_table


def add_parser(subparsers: Any, remote: argparse.ArgumentParser) -> None:
    """Register ``sessions`` and its subcommands on the main parser's subparsers."""
    text = "list Ray drivers (notebooks, scripts, jobs) and release what one holds"
    sub = group(subparsers, "sessions", remote, text, __doc__)
    listing = command(sub, "list", remote, cmd_list, "list live sessions, oldest first")
    listing.add_argument(
        "--all", action="store_true", help="also Ray's own drivers (never released)"
    )
    text = "kill a session's non-detached actors and cancel its tasks"
    release = command(sub, "release", remote, cmd_release, text)
    release.add_argument("session_id", metavar="ID", help="the Ray job id or the kernel id")
    release.add_argument("--yes", "-y", action="store_true", help="do not ask to confirm")


def _amount(name: str, value: float) -> str:
    if name.endswith("memory"):  # memory, object_store_memory
        return f"{name} {value / 2**30:.1f}GiB"
    return f"{name} {value:g}"


def format_sessions_table(sessions: list[dict[str, Any]]) -> str:
    """The ``iog sessions list`` table: one line per session, its label first, then its id."""
    rows = [("SESSION", "ID", "KIND", "OWNER", "STATE", "IDLE", "ACTORS", "TASKS", "HOLDS")]
    for s in sessions:
        held = ", ".join(_amount(k, v) for k, v in sorted((s.get("resources") or {}).items()) if v)
        idle = s.get("idle_s")
        policy = (s.get("policy") or {}).get("state")
        state = clean(s.get("execution_state") or "-")
        if policy not in (None, "off", "not_applicable", "active"):
            state += f" ({clean(policy)})"
        kind = clean(s.get("kind")) + (" (Ray's own)" if s.get("internal") else "")
        rows.append(
            (
                clean(s.get("label") or s.get("session_id")),
                clean(s.get("session_id")),
                kind,
                clean(s.get("owner") or "-"),
                state,
                "-" if idle is None else f"{idle:.0f}s",
                f"{s.get('actors', 0)} + {s.get('detached_actors', 0)} detached",
                str(s.get("running_tasks", 0)),
                clean(held or "-"),
            )
        )
    return format_table(rows)


def cmd_list(args: argparse.Namespace) -> int:
    """``iog sessions list``."""
    internal = "true" if args.all else None
    reply = run(
        args,
        lambda client: client.request("GET", "sessions", params={"internal": internal}),
        lambda conn: SessionList(sessions=list_sessions(conn, internal=args.all), policy=None),
    )
    sessions = list(reply.get("sessions") or [])
    lines = [format_sessions_table(sessions)] if sessions else ["No Ray drivers are running."]
    for s in sessions:
        message = (s.get("policy") or {}).get("message")
        if message:
            lines.append(f"{clean(s.get('label') or s.get('session_id'))}: {clean(message)}")
    emit(args.json, reply, "\n".join(lines))
    return EXIT_OK


def cmd_release(args: argparse.Namespace) -> int:
    """``iog sessions release ID``: asks for confirmation on a terminal unless ``--yes``."""
    session_id = check_session_id(args.session_id)  # a ValidationError exits 2
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("Releasing kills actors; confirm with --yes.", EXIT_USAGE)
        answer = input(f"Kill the non-detached actors and tasks of session {session_id}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing released.")
            return EXIT_OK
    reply = run(
        args,
        lambda client: client.request("POST", "sessions", session_id, "release"),
        lambda conn: release_session(conn, session_id),
    )
    emit(
        args.json,
        reply,
        f"Released session {clean(reply.get('session_id'))}: killed "
        f"{len(reply.get('killed_actors') or [])} actor(s), cancelled "
        f"{reply.get('cancelled_tasks', 0)} task(s); kept "
        f"{reply.get('kept_detached_actors', 0)} detached actor(s).",
    )
    if not args.json:
        for error in reply.get("errors") or []:
            print(f"iog: could not release {clean(error)}", file=sys.stderr)
    return EXIT_OK
