"""``iog usage``: who held the GPUs (and CPUs, memory), for how long, and whether they used them.

Remote mode (``--url`` or ``IOG_URL``, token in ``IOG_TOKEN``) asks the Jupyter server, which
samples the sessions and keeps the figures. Local mode reads the server's store on this machine
(``usage.sqlite`` in its state dir, read-only); it records nothing itself.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import sqlite3
from typing import Any

from ..config import default_state_dir
from ..core.usage import UsageStore, build_report
from ..core.wire import USAGE_GROUPS, UsageRow
from .errors import EXIT_OK, EXIT_USAGE, CliError
from .modes import make_client
from .options import command
from .output import clean, format_table, to_json

#: The CSV columns, in order: the row's wire fields, times as ISO (not ``*_ms``), ``summary`` last.
CSV_FIELDS = tuple(
    name
    for name in [*UsageRow.model_fields, *UsageRow.model_computed_fields]
    if not name.endswith("_ms")
)


def add_parser(subparsers: Any, remote: argparse.ArgumentParser) -> None:
    """Register ``usage`` on the main parser's subparsers."""
    parser = command(
        subparsers,
        "usage",
        remote,
        cmd_usage,
        "GPU-, CPU- and memory-hours held per user, session or job",
        __doc__.split("\n\n", 1)[1].replace("``", ""),
    )
    parser.add_argument(
        "--since", help="start: ISO-8601, epoch ms, or a duration back (30m, 24h, 7d); default 24h"
    )
    parser.add_argument("--until", help="end, as --since; default now")
    parser.add_argument(
        "--by", choices=USAGE_GROUPS, default="session", help="one row per (default: session)"
    )
    parser.add_argument("--csv", action="store_true", help="print CSV (one line per row)")
    parser.add_argument(
        "--state-dir",
        help="local mode: the server's state dir (its jobs_state_dir; default: "
        "<jupyter data dir>/iog_jupyter)",
    )


def _local_report(args: argparse.Namespace) -> dict[str, Any]:
    directory = args.state_dir or default_state_dir()
    path = os.path.join(directory, "usage.sqlite")
    if not os.path.isfile(path):
        raise CliError(
            f"No usage recorded in {directory}: the Jupyter server with iog_jupyter records "
            "usage while it runs. Ask it with --url (or IOG_URL) and the token in IOG_TOKEN, "
            "or give its state dir with --state-dir."
        )
    try:
        store = UsageStore(path, read_only=True)
    except sqlite3.Error as err:
        raise CliError(f"Cannot read {path}: {err}.") from None
    with contextlib.closing(store):
        # 0: the sample interval the server recorded in the store.
        report = build_report(store, args.since, args.until, args.by, 0.0)
    return report.model_dump(mode="json")


def format_usage_table(rows: list[dict[str, Any]]) -> str:
    """The ``iog usage`` table: one line per row, most GPU-hours first, its summary last."""
    lines = [("NAME", "KEY", "USER", "GPU-H", "CPU-H", "MEM GIB-H", "MAX GPUS", "SUMMARY")]
    for r in rows:
        lines.append(
            (
                clean(r.get("label") or r.get("key")),
                clean(r.get("key")),
                clean(r.get("user") or "-"),
                f"{r.get('gpu_seconds', 0) / 3600:.3f}",
                f"{r.get('cpu_seconds', 0) / 3600:.3f}",
                f"{r.get('memory_byte_seconds', 0) / 2**30 / 3600:.3f}",
                f"{r.get('max_gpus', 0):g}",
                clean(r.get("summary") or ""),
            )
        )
    return format_table(lines)


#: A spreadsheet reads a cell starting so as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: one starting as a formula gets a leading ``'``."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def format_usage_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV with a header line (:data:`CSV_FIELDS`).

    Labels, keys and users are untrusted (a notebook's or a job's name): a text cell that a
    spreadsheet would run as a formula is written with a leading ``'``.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _inert(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def cmd_usage(args: argparse.Namespace) -> int:
    """``iog usage``."""
    if args.json and args.csv:
        raise CliError("Give --json or --csv, not both.", EXIT_USAGE)
    params = {"since": args.since, "until": args.until, "group_by": args.by}
    if args.url:
        with contextlib.closing(make_client(args.url)) as client:
            report = client.request("GET", "usage", params=params)
    else:
        report = _local_report(args)
    rows = list(report.get("rows") or [])
    if args.json:
        print(to_json(report))
    elif args.csv:
        print(format_usage_csv(rows), end="")
    else:
        window = f"{clean(report.get('since'))} to {clean(report.get('until'))}"
        body = format_usage_table(rows) if rows else "Nothing held in this window."
        print(f"Usage by {clean(report.get('group_by'))}, {window}:\n{body}")
    return EXIT_OK
