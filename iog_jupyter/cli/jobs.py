"""``iog jobs submit|list|get|logs|stop|delete|wait``: Ray jobs, locally or through a server.

Remote mode (``--url`` or ``IOG_URL``, token in ``IOG_TOKEN``) uses the server's REST API; a
``--working-dir`` is zipped in memory and uploaded as a package first. Local mode drives the jobs
backend directly (``--backend``: Ray's job manager when it answers, else local processes), as the
local user. ``submit`` follows the job's log until it ends unless given ``--no-wait``; ``submit``
and ``logs --follow`` then exit with the job's exit code (0 when it SUCCEEDED, 1 when it ended
without one). While the job is PENDING it says why (again whenever the reason changes). Ctrl-C
while following leaves the job as it is and says its status and how to stop it. ``wait ID…``
prints a line as each job ends and exits 0 when all SUCCEEDED, 1 when any FAILED, 5 when none
failed but some were STOPPED, 124 when ``--timeout`` ran out first (the jobs run on).

``submit --notebook PATH -p NAME=VALUE`` runs a notebook instead (``core.jobs.notebooks``): PATH
under the server's root in remote mode, under the current directory in local mode, where the
executed copy is written when the follow ends (remotely the server writes it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import sys
import time
import zipfile
from typing import Any

from ..client import IogClientError
from ..core.errors import IogError
from ..core.jobs.notebooks import NotebookJobs
from ..core.jobs.service import JobsAPI, JobService, follow_logs, parse_statuses
from ..core.jobs.waiting import (
    WAIT_TIMED_OUT,
    JobsWaitTimeout,
    run_time_s,
    wait_exit_status,
    wait_for_jobs,
)
from ..core.sessions.service import fmt_seconds
from ..core.wire import JobRecord, LogPage
from .errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError
from .modes import local_connection, make_client
from .options import command, group
from .output import clean, collect, emit, format_job, format_jobs_table, to_json

#: Directories never packed into a ``working_dir`` upload.
SKIPPED_DIRS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".venv"})
#: Seconds between two looks at a PENDING job that is followed.
PENDING_POLL_S = 1.0


def _key_values(pairs: list[str] | None, option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"{option} takes KEY=VALUE, not {pair[:60]!r}.", EXIT_USAGE)
        result[key] = value
    return result


def add_parser(subparsers: Any, remote: argparse.ArgumentParser) -> None:
    """Register ``jobs`` and its subcommands on the main parser's subparsers."""
    where = argparse.ArgumentParser(add_help=False, parents=[remote])
    where.add_argument(
        "--backend",
        choices=("auto", "ray", "local"),
        default=os.environ.get("IOG_JOBS_BACKEND") or "auto",
        help="local mode's jobs backend (default: $IOG_JOBS_BACKEND or auto)",
    )
    sub = group(
        subparsers, "jobs", remote, "submit, list, follow, stop and delete Ray jobs", __doc__
    )
    submit = command(sub, "submit", where, cmd_submit, "submit a job")
    submit.add_argument("--submission-id", metavar="ID")
    submit.add_argument("--working-dir", metavar="DIR", help="a directory the job runs in")
    submit.add_argument("--env", action="append", metavar="KEY=VAL", help="an env var (repeat)")
    submit.add_argument("--num-cpus", type=float, metavar="N")
    submit.add_argument("--num-gpus", type=float, metavar="N")
    submit.add_argument(
        "--memory", type=parse_size, metavar="SIZE", help="memory to reserve: 4GiB, 512MB, bytes"
    )
    submit.add_argument("--resources", metavar="JSON", help='custom resources: {"name": amount}')
    submit.add_argument("--pool", metavar="P", help="the pool to run in")
    submit.add_argument(
        "--pip", action="append", metavar="PKG", help="a pip requirement to install (repeat)"
    )
    submit.add_argument("--metadata", action="append", metavar="KEY=VAL", help="(repeat)")
    submit.add_argument(
        "--no-wait",
        dest="follow",
        action="store_false",
        help="print the job's id and return instead of following its log",
    )
    submit.add_argument(
        "--notebook",
        metavar="PATH",
        help="run this notebook (papermill) instead of a command; its folder is the working dir",
    )
    submit.add_argument(
        "-p",
        "--parameter",
        action="append",
        metavar="NAME=VALUE",
        help="a --notebook parameter (repeat); VALUE is JSON when it parses, else a string",
    )
    submit.add_argument("entrypoint", nargs="*", help="the command, after --")
    listing = command(sub, "list", where, cmd_list, "list jobs, newest first")
    listing.add_argument("--status", metavar="S[,S]", help="only jobs in these statuses")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N jobs (default 50)")
    listing.add_argument("--all", action="store_true", help="every job (follows the pages)")
    for name, handler, text in (
        ("get", cmd_get, "show one job"),
        ("stop", cmd_stop, "stop a job (no-op when it has ended)"),
        ("delete", cmd_delete, "delete an ended job's record and log"),
        ("logs", cmd_logs, "print a job's log"),
    ):
        one = command(sub, name, where, handler, text)
        one.add_argument("submission_id", metavar="ID")
        if name == "logs":
            one.add_argument("--follow", "-f", action="store_true", help="until the job ends")
            one.add_argument("--offset", type=int, default=0, metavar="N", help="from byte N")
    wait = command(sub, "wait", where, cmd_wait, "wait until jobs end; the exit status says how")
    wait.add_argument("submission_ids", nargs="+", metavar="ID")
    wait.add_argument(
        "--timeout", type=float, metavar="S", help="give up after S seconds (exit 124)"
    )


def _open(args: argparse.Namespace) -> contextlib.closing[JobsAPI]:
    """The server's jobs (``--url``), or the backend here, as the local user; closes on exit."""
    if args.url:
        return contextlib.closing(make_client(args.url).jobs)
    return contextlib.closing(JobService.open(args.backend, local_connection()))


def zip_directory(directory: str) -> bytes:
    """A zip (in memory) of the regular files under ``directory``; symlinks are left out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in SKIPPED_DIRS and not os.path.islink(os.path.join(root, d))
            )
            for name in sorted(files):
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                archive.write(path, os.path.relpath(path, directory))
    return buffer.getvalue()


def _submit(api: JobsAPI, body: dict[str, Any], working_dir: str | None) -> str:
    """Submit; a ``--working-dir`` is uploaded as a package, or in local mode allowed as is."""
    if working_dir is not None:
        if not os.path.isdir(working_dir):
            raise CliError(f"--working-dir {working_dir!r} is not a directory.", EXIT_USAGE)
        if isinstance(api, JobService):
            working_dir = os.path.realpath(working_dir)
            api.working_dir_roots = [working_dir]
        else:
            zipped = zip_directory(working_dir)
            reply = api.client.request(
                "POST", "packages", data=zipped, content_type="application/zip"
            )
            working_dir = reply["uri"]
        body.setdefault("runtime_env", {})["working_dir"] = working_dir
    return api.submit(body)


def _entrypoint(words: list[str]) -> str:
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise CliError("Give the job's command after --.", EXIT_USAGE)
    return words[0] if len(words) == 1 else shlex.join(words)


def parse_size(text: str) -> int:
    """Bytes from ``4GiB``, ``512MB``, ``1.5G`` or a plain number (argparse type)."""
    raw = text.strip().lower().removesuffix("b")
    binary = raw.endswith("i")
    raw = raw.removesuffix("i")
    power = "kmgt".index(raw[-1]) + 1 if raw and raw[-1] in "kmgt" else 0
    try:
        value = float(raw[:-1] if power else raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 4GiB or 512MB") from None
    scale = (1024 if binary else 1000) ** power
    if value <= 0 or value * scale > 2**62:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive size")
    return int(value * scale)


def _parameters(pairs: list[str] | None) -> dict[str, Any]:
    """``-p NAME=VALUE`` options: VALUE as JSON when it parses, else as a string (papermill's)."""
    parameters: dict[str, Any] = {}
    for name, raw in _key_values(pairs, "-p/--parameter").items():
        try:
            parameters[name] = json.loads(raw)
        except ValueError:
            parameters[name] = raw
    return parameters


def _submit_body(args: argparse.Namespace) -> dict[str, Any]:
    """The fields of a command's and a notebook's submit: env, pip, metadata, resources, pool."""
    body: dict[str, Any] = {}
    env = _key_values(args.env, "--env")
    if env:
        body.setdefault("runtime_env", {})["env_vars"] = env
    if args.pip:
        body.setdefault("runtime_env", {})["pip"] = list(args.pip)
    metadata = _key_values(args.metadata, "--metadata")
    if metadata:
        body["metadata"] = metadata
    if args.resources:
        try:
            body["entrypoint_resources"] = json.loads(args.resources)
        except ValueError:
            raise CliError("--resources must be a JSON object.", EXIT_USAGE) from None
    for option, key in (
        ("submission_id", "submission_id"),
        ("num_cpus", "entrypoint_num_cpus"),
        ("num_gpus", "entrypoint_num_gpus"),
        ("memory", "entrypoint_memory"),
        ("pool", "pool"),
    ):
        if getattr(args, option) is not None:
            body[key] = getattr(args, option)
    return body


def _wait_while_pending(api: JobsAPI, sid: str, offset: int, show: Any, as_json: bool) -> int:
    """While the job is PENDING: print its log and, each time it changes, why it waits.

    Returns the offset to follow the log from once the job has left PENDING, or as soon as a
    call fails: the follow that comes next waits through an unavailable server or Ray (and
    reports any other error), resuming from that offset.
    """
    said = None
    with contextlib.suppress(IogClientError, IogError):
        while (job := api.get(sid)).status == "PENDING":
            reason = job.pending_reason or "waiting for Ray to start it"
            if reason != said:
                said = reason
                if as_json:
                    print(json.dumps({"type": "pending", "pending_reason": reason}), flush=True)
                else:
                    print(f"iog: job {clean(sid)} is PENDING: {clean(reason)}", file=sys.stderr)
            page = api.logs(sid, offset)
            if page.next_offset > offset:
                show(page)
                offset = page.next_offset
            time.sleep(PENDING_POLL_S)
    return offset


def _interrupted(api: JobsAPI, submission_id: str) -> str:
    """What to say on Ctrl-C: the job's status now and how to follow or stop it."""
    sid = clean(submission_id)
    try:
        job = api.get(submission_id)
    except Exception:  # noqa: BLE001 - Ctrl-C must answer even when the server does not
        return f"\niog: stopped following job {sid}; `iog jobs get {sid}` shows its status."
    if job.is_terminal:
        return f"\niog: stopped following; job {sid} has ended: {clean(job.status)}."
    why = f" ({clean(job.pending_reason)})" if job.pending_reason else ""
    return (
        f"\niog: stopped following; job {sid} is still {clean(job.status)}{why}. "
        f"Follow it again with `iog jobs logs -f {sid}`, stop it with `iog jobs stop {sid}`."
    )


def _follow(api: JobsAPI, submission_id: str, offset: int, as_json: bool) -> int:
    """Print the log until the job ends; exit with the job's code (module docstring)."""

    def show(page: LogPage) -> None:
        if as_json:
            message = {"offset": page.offset, "next_offset": page.next_offset, "text": page.text}
            print(json.dumps({"type": "log", **message}), flush=True)
        else:
            sys.stdout.write(clean(page.text, "\n\t"))
            sys.stdout.flush()

    try:
        offset = _wait_while_pending(api, submission_id, offset, show, as_json)
        job = follow_logs(api, submission_id, offset, show)
    except KeyboardInterrupt:
        print(_interrupted(api, submission_id), file=sys.stderr)
        return 130
    assert job is not None
    if as_json:
        final = {"status": job.status, "exit_code": job.exit_code, "message": job.message}
        print(json.dumps({"type": "status", **final}), flush=True)
    else:
        detail = f", exit code {job.exit_code}" if job.exit_code else ""
        print(f"iog: job {clean(submission_id)} {clean(job.status)}{detail}", file=sys.stderr)
    if job.status == "SUCCEEDED":
        return EXIT_OK
    code = job.exit_code
    return code if isinstance(code, int) and 0 < code < 256 else EXIT_ERROR


def _submitted(args: argparse.Namespace, api: JobsAPI, reply: dict[str, Any]) -> int:
    """Say what was submitted (a notebook job: where its copy goes); print its id or follow."""
    sid = reply["submission_id"]
    if args.json and not args.follow:
        print(to_json(reply))
        return EXIT_OK
    what = f"job {clean(sid)}"
    if "output" in reply:
        what = f"notebook {what}; its executed copy will be {clean(reply['output'])}"
    print(f"iog: submitted {what}", file=sys.stderr, flush=True)
    if not args.follow:
        print(sid)
        return EXIT_OK
    return _follow(api, sid, 0, args.json)


def cmd_submit(args: argparse.Namespace) -> int:
    """``iog jobs submit``: submit a command or a ``--notebook``, print its id, follow its log."""
    if not args.notebook:
        if args.parameter:
            raise CliError("-p/--parameter is for --notebook jobs.", EXIT_USAGE)
        body = {"entrypoint": _entrypoint(args.entrypoint), **_submit_body(args)}
        with _open(args) as api:
            sid = _submit(api, body, args.working_dir)
            return _submitted(args, api, {"submission_id": sid})
    if [w for w in args.entrypoint if w != "--"] or args.working_dir:
        raise CliError(
            "--notebook runs the notebook in its own folder: give no command and no --working-dir.",
            EXIT_USAGE,
        )
    body = _submit_body(args)
    body.update(path=args.notebook, parameters=_parameters(args.parameter))
    if args.url:
        with contextlib.closing(make_client(args.url)) as client:
            reply = client.request("POST", "notebook-jobs", json_body=body)
            return _submitted(args, client.jobs, reply)
    with contextlib.closing(
        NotebookJobs.open_local(os.getcwd(), args.backend, local_connection())
    ) as notebooks:
        reply = notebooks.submit(body).model_dump(mode="json")
        code = _submitted(args, notebooks.jobs, reply)
        if args.follow:
            notebooks.collect_ready()
        return code


def cmd_list(args: argparse.Namespace) -> int:
    """``iog jobs list``: a table (or ``--json``) of jobs, newest first."""
    if args.limit is not None and args.limit < 1:
        raise CliError("--limit must be at least 1.", EXIT_USAGE)
    statuses = parse_statuses(args.status)
    with _open(args) as api:
        rows, page = collect(
            lambda cursor: api.list(statuses, args.limit or 50, cursor).model_dump(mode="json"),
            "jobs",
            args.all,
        )
    text = format_jobs_table(rows) if rows else "No jobs."
    emit(args.json, {"jobs": rows, "total": page["total"]}, text)
    return EXIT_OK


def _one(args: argparse.Namespace, method: str) -> Any:
    with _open(args) as api:
        return getattr(api, method)(args.submission_id)


def cmd_get(args: argparse.Namespace) -> int:
    """``iog jobs get ID``."""
    job = _one(args, "get").model_dump(mode="json")
    emit(args.json, job, format_job(job))
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    """``iog jobs stop ID``: exit 0 whether it was running or had already ended."""
    stopped = bool(_one(args, "stop"))
    sid = clean(args.submission_id)
    text = f"Stop requested for job {sid}." if stopped else f"Job {sid} had already ended."
    emit(args.json, {"submission_id": args.submission_id, "stopped": stopped}, text)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    """``iog jobs delete ID``."""
    _one(args, "delete")
    reply = {"submission_id": args.submission_id, "deleted": True}
    emit(args.json, reply, f"Deleted job {clean(args.submission_id)}.")
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    """``iog jobs logs ID``: the log so far, or with ``--follow`` until the job ends."""
    if args.offset < 0:
        raise CliError("--offset must be at least 0.", EXIT_USAGE)
    with _open(args) as api:
        if args.follow:
            return _follow(api, args.submission_id, args.offset, args.json)
        offset, text = args.offset, []
        while True:
            page = api.logs(args.submission_id, offset)
            text.append(page.text)
            if not args.json:
                sys.stdout.write(clean(page.text, "\n\t"))
            if page.eof or page.next_offset <= offset:
                break
            offset = page.next_offset
    if args.json:
        reply = {
            **page.model_dump(mode="json"),
            "submission_id": args.submission_id,
            "offset": args.offset,
        }
        print(to_json({**reply, "text": "".join(text)}))
    sys.stdout.flush()
    return EXIT_OK


def cmd_wait(args: argparse.Namespace) -> int:
    """``iog jobs wait ID…``: a line as each job ends; the exit status says how they ended."""
    if args.timeout is not None and args.timeout < 0:
        raise CliError("--timeout must be at least 0.", EXIT_USAGE)

    def ended(job: JobRecord) -> None:
        """``job X SUCCEEDED after 2 min``, with the exit code of a failed job (or JSON)."""
        ran = run_time_s(job)
        if args.json:
            print(json.dumps({"type": "end", "run_time_s": ran, **_fields(job)}), flush=True)
            return
        after = f" after {fmt_seconds(ran)}" if ran is not None else ""
        code = f" (exit code {job.exit_code})" if job.exit_code else ""
        print(f"job {clean(job.submission_id)} {clean(job.status)}{after}{code}", flush=True)

    with _open(args) as api:
        try:
            records = wait_for_jobs(api, args.submission_ids, args.timeout, ended)
        except JobsWaitTimeout as err:
            if args.json:
                running = [_fields(r) for r in err.running]
                print(json.dumps({"type": "timeout", "running": running}), flush=True)
            print(f"iog: {clean(err.message)}", file=sys.stderr)
            return WAIT_TIMED_OUT
        except KeyboardInterrupt:
            ids = ", ".join(clean(s) for s in args.submission_ids)
            print(f"\niog: stopped waiting; the jobs run on ({ids}).", file=sys.stderr)
            return 130
    status = wait_exit_status(records)
    if args.json:
        print(json.dumps({"type": "done", "exit_status": status}), flush=True)
    return status


def _fields(job: JobRecord) -> dict[str, Any]:
    """What ``wait --json`` says of a job."""
    keys = {"submission_id", "name", "status", "exit_code", "message"}
    return job.model_dump(mode="json", include=keys)
