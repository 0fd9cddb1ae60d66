"""The options every ``iog`` command shares, declared once and resolved once.

``--json``, ``-v``/``--verbose`` and ``--url`` are accepted before or after the subcommand: the
same parent parser is added to the top-level parser, the command groups and the commands, with
``default=argparse.SUPPRESS`` so that a copy the user did not fill in never overwrites a value
given earlier on the line. Commands that run in local mode only (``up``, ``down``, ``actors
reap``) refuse ``--url`` wherever it is given. :func:`resolve` then fills in the defaults
(``IOG_URL`` for ``--url``) in one place; the commands read ``args.url``, ``args.json`` and
``args.verbose``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from .errors import EXIT_USAGE, CliError


def shared_parser(*, local_only: bool = False) -> argparse.ArgumentParser:
    """The parent parser of ``--json``, ``--verbose`` and ``--url`` (hidden if ``local_only``)."""
    shared = argparse.ArgumentParser(add_help=False)
    for flags, text in (
        (["--json"], "print machine-readable JSON"),
        (["-v", "--verbose"], "log progress to stderr"),
    ):
        shared.add_argument(*flags, action="store_true", default=argparse.SUPPRESS, help=text)
    shared.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS
        if local_only
        else "a Jupyter server with iog_jupyter (default: $IOG_URL; local mode when unset)",
    )
    return shared


def resolve(args: argparse.Namespace) -> None:
    """Fill in the shared options' defaults on ``args``, in place.

    A command registered with ``set_defaults(local_only="iog NAME")`` runs in local mode only:
    it ignores ``IOG_URL`` and refuses ``--url`` (a CliError, exit 2).
    """
    args.json = getattr(args, "json", False)
    args.verbose = getattr(args, "verbose", False)
    given = getattr(args, "url", None)
    local_only = getattr(args, "local_only", None)
    if local_only:
        if given is not None:
            raise CliError(
                f"`{local_only}` runs in local mode only; it takes no --url.", EXIT_USAGE
            )
        args.url = None
        return
    args.url = (given if given is not None else os.environ.get("IOG_URL")) or None


def command(
    subparsers: Any,
    name: str,
    parent: argparse.ArgumentParser,
    handler: Callable[[argparse.Namespace], int] | None,
    help: str,
    description: str | None = None,
    **defaults: Any,
) -> argparse.ArgumentParser:
    """Add the (sub)command ``name`` with the shared options of ``parent``, run by ``handler``.

    Other keyword arguments are defaults of the parsed arguments (``local_only="iog up"``).
    """
    parser = subparsers.add_parser(name, parents=[parent], help=help, description=description)
    if handler is not None:
        parser.set_defaults(handler=handler, **defaults)
    return parser


def group(subparsers: Any, name: str, parent: argparse.ArgumentParser, help: str, doc: str) -> Any:
    """Add the command group ``name`` (``iog jobs ...``); returns its subparsers.

    Its description is ``doc`` (a module docstring) without the first paragraph.
    """
    description = doc.split("\n\n", 1)[1].replace("``", "") if doc else None
    parser = command(subparsers, name, parent, None, help, description)
    sub = parser.add_subparsers(dest=f"{name}_command", metavar=f"{name.upper()}_COMMAND")
    sub.required = True
    return sub
