"""``iog doctor``: security and health checks, locally (Ray only) or through a Jupyter server.

Local mode checks the Ray head this machine would use (``RAY_ADDRESS``, else the head ``iog up``
started): token auth, the token file's mode (``--fix`` sets it to 0600), and which Ray ports
listen beyond loopback. Remote mode (``--url``/``IOG_URL``, token in ``IOG_TOKEN``) asks the
server's ``GET doctor``, which adds the Jupyter server's own settings. Exit status: 0 when no
check failed (warnings allowed), 1 when one did.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..core.security.doctor import FAIL, run_doctor
from .errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError
from .modes import run
from .options import command
from .output import clean, emit

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def add_parser(subparsers: Any, remote: argparse.ArgumentParser) -> None:
    """Register ``doctor`` on the main parser's subparsers."""
    text = "check Ray's and Jupyter's security settings, each with a fix"
    description = __doc__.split("\n\n", 1)[1] if __doc__ else None
    parser = command(subparsers, "doctor", remote, cmd_doctor, text, description)
    parser.add_argument(
        "--fix", action="store_true", help="local mode: set the Ray token file to mode 0600"
    )


def format_report(report: dict[str, Any]) -> str:
    """The checks as aligned lines, each fix indented under its check (all text cleaned)."""
    lines = []
    for check in report.get("checks", []):
        mark = _MARK.get(str(check.get("status")), "?   ")
        lines.append(f"{mark}  {clean(str(check.get('id')))}: {clean(str(check.get('message')))}")
        if check.get("fix"):
            lines.append(f"      fix: {clean(str(check['fix']))}")
    lines.append(f"overall: {clean(str(report.get('status')))}")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run the checks and print them; exit 1 when one failed."""
    if args.url and args.fix:
        raise CliError(
            "--fix works in local mode only (on the head node, as the token's owner).", EXIT_USAGE
        )
    report = run(
        args,
        lambda client: client.request("GET", "doctor"),
        lambda conn: run_doctor(conn, fix=args.fix),
    )
    emit(args.json, report, format_report(report))
    return EXIT_ERROR if report.get("status") == FAIL else EXIT_OK
