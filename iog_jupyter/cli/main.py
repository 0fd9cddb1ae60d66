"""The ``iog`` command line: argument parsing, dispatch, and one place that turns errors into exits.

Exit codes: 0 success, 1 failure, 2 bad usage (option, URL), 3 Ray or the server unreachable,
4 credentials refused. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..client import IogClientError
from ..core.errors import IogError
from . import actors, doctor, down, jobs, options, sessions, status, up, usage
from .errors import EXIT_ERROR, EXIT_USAGE, CliError, exit_code_of


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``iog`` and its subcommands.

    The shared options (``--json``, ``--verbose``, ``--url``) are declared in :mod:`.options` and
    accepted before or after the subcommand.
    """
    remote = options.shared_parser()
    local = options.shared_parser(local_only=True)
    parser = argparse.ArgumentParser(
        prog="iog",
        description="Ray cluster resources through iog_jupyter: a local loopback Ray head with "
        "JupyterLab (up/down), cluster views (status) and Ray jobs (jobs), locally or from a "
        "Jupyter server.",
        parents=[remote],
    )
    parser.add_argument("--version", action="version", version=f"iog {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    up.add_parser(subparsers, local)
    down.add_parser(subparsers, local)
    status.add_parser(subparsers, remote)
    doctor.add_parser(subparsers, remote)
    jobs.add_parser(subparsers, remote)
    actors.add_parser(subparsers, remote, local)
    sessions.add_parser(subparsers, remote)
    usage.add_parser(subparsers, remote)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``iog`` with ``argv`` (``sys.argv[1:]`` when None); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors.
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        options.resolve(args)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="iog: %(message)s",
            stream=sys.stderr,
        )
        return int(args.handler(args))
    except (CliError, IogClientError, IogError) as err:
        _fail(err.message)
        return exit_code_of(err)
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`iog status | head`): stop quietly, as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as err:
        _fail(f"{type(err).__name__}: {err.strerror or err}")
        return EXIT_ERROR


def _fail(message: str) -> None:
    """Print one error line on stderr."""
    first, *rest = [line.strip() for line in message.strip().splitlines() if line.strip()] or [""]
    text = first if not rest else f"{first} ({rest[-1]})"
    print(f"iog: error: {text}", file=sys.stderr, flush=True)
