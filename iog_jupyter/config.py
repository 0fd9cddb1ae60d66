"""Every ``IogJupyterApp`` trait, grouped by area, and the README's table generated from them.

``IogJupyterApp`` (``app.py``) inherits these classes, so each trait is set as
``c.IogJupyterApp.<name>`` or ``--IogJupyterApp.<name>=…``. The configuration tables in
README.md are generated from the traits' types, defaults and ``help=``
(``python -m iog_jupyter.config --write``), and a test fails when they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Enum, Float, HasTraits, Int, List, TraitType, Unicode, default, validate

from .core.actors.records import DEFAULT_PROTECTED_NAMESPACES
from .core.monitor import HISTORY_LENGTH, MAX_BACKOFF_S, REFRESH_INTERVAL_S

MIB = 1024 * 1024
#: Where the generated tables sit in README.md.
TABLE_START = "<!-- config-table:start (generated: python -m iog_jupyter.config --write) -->"
TABLE_END = "<!-- config-table:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def _conf(kind: type[TraitType]) -> Callable[..., Any]:
    """``(default, help, **bounds)`` -> a ``kind`` trait set as ``c.IogJupyterApp.<name>``."""
    return lambda default, help, **bounds: kind(default, config=True, help=help, **bounds)


_float, _int, _bool, _text = _conf(Float), _conf(Int), _conf(Bool), _conf(Unicode)


def _texts(default: list[str], help: str) -> List:
    """A list-of-strings trait set as ``c.IogJupyterApp.<name>``."""
    return List(Unicode(), default, config=True, help=help)


class RayConnectionConfig(HasTraits):
    """How the server reaches Ray: where, with which token, within which deadlines."""

    ray_address = _text(
        "",
        "GCS address of the Ray head (host:port). Empty: RAY_ADDRESS, then the address of "
        "the newest local `ray start` (/tmp/ray/ray_current_cluster), then 127.0.0.1:6379.",
    )
    ray_dashboard_url = _text(
        "", "URL of Ray's dashboard. Empty: read from the GCS (what `ray job` does)."
    )
    ray_token_path = _text(
        "",
        "File holding the Ray auth token. Empty: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, then "
        "~/.ray/auth_token. The token never leaves the server.",
    )
    connect_timeout_s = _float(
        1.0, "Deadline for the TCP probe of the GCS port made before each Ray call."
    )
    request_timeout_s = _float(
        10.0, "Deadline for one call to Ray; past it the request answers 503."
    )
    submit_timeout_s = _float(
        60.0,
        "Deadline for a job submission, which waits on Ray's job agent (the first job on a "
        "fresh head can take longer than request_timeout_s).",
    )
    executor_max_workers = _int(
        4, "Threads for blocking Ray calls made by requests (never on the event loop).", min=1
    )


class ClusterConfig(HasTraits):
    """The one cluster monitor: polling, history, pools, per-node usage, the dashboard."""

    refresh_interval_s = _float(
        REFRESH_INTERVAL_S,
        "Seconds between two polls of the cluster by the one shared monitor.",
        min=0.1,
    )
    history_length = _int(
        HISTORY_LENGTH,
        "How many polls the cluster history ring buffer keeps "
        f"({HISTORY_LENGTH} x {REFRESH_INTERVAL_S:g} s = "
        f"{HISTORY_LENGTH * REFRESH_INTERVAL_S / 3600:g} hour).",
        min=1,
    )
    max_backoff_s = _float(
        MAX_BACKOFF_S, "Longest wait between polls while Ray is unreachable (exponential backoff)."
    )
    pool_label = _text(
        "ray.io/node-group",
        "Node label whose value names a node's pool (KubeRay sets ray.io/node-group).",
    )
    pool_resource_prefix = _text(
        "pool:", 'Custom resources named <prefix><pool> also name a pool ({"pool:train": 1}).'
    )
    include_node_usage = _bool(
        True, "Add per-node CPU %, memory and GPU usage from Ray's dashboard to each snapshot."
    )
    usage_refresh_interval_s = _float(
        5.0,
        "Seconds between two fetches of per-node usage from the dashboard, on a thread of "
        "its own (its reply grows with the number of workers); snapshots merge the latest.",
        min=0.1,
    )
    dashboard_grant_ttl_s = _float(
        3600.0,
        "Seconds a dashboard view grant (the sandboxed dashboard page's read-only "
        "capability URL) stays valid; reopening the dashboard mints a new one.",
    )


class JobsConfig(HasTraits):
    """Jobs: the backend, where records and logs live, log pages and tails."""

    jobs_backend = Enum(
        ["auto", "ray", "local"],
        "auto",
        config=True,
        help=(
            "Which jobs backend runs jobs: 'ray' (Ray's job manager on the loopback dashboard, "
            "with the Ray token), 'local' (process groups on this head node, records in SQLite) "
            "or 'auto' (Ray's when its job API answers, else local). Chosen on first use."
        ),
    )
    jobs_state_dir = _text(
        "",
        "Directory for local job records and logs (jobs/), uploaded packages (packages/) "
        "and the audit log. Default: <jupyter data dir>/iog_jupyter.",
    )
    jobs_working_dir_roots = _texts(
        [],
        "Directories under which a job's runtime_env.working_dir may name an existing "
        "directory on this machine. Empty: the Jupyter server's root_dir.",
    )
    jobs_stop_grace_s = _float(
        10.0, "Seconds the local jobs backend waits between TERM and KILL when stopping a job."
    )
    audit_log_path = _text(
        "",
        "JSON-lines audit log (mode 0600) of every job submit, stop, delete and package "
        "upload, allowed or refused. Default: <jobs_state_dir>/audit.log.",
    )
    job_list_max_limit = _int(
        200, "Largest page size `GET jobs?limit=` accepts (the default page is 50 jobs).", min=1
    )
    log_page_max_bytes = _int(
        1 * MIB, "Largest `limit_bytes` a `GET jobs/{id}/logs` page accepts.", min=1
    )
    log_tail_chunk_bytes = _int(
        64 * 1024,
        "Most log bytes a websocket tail reads ahead of what its client has received; "
        "a stalled client stalls only its own tail.",
        min=1,
    )
    log_tail_poll_interval_s = _float(
        0.05,
        "Seconds between two checks of a job's log file for new bytes while tailing "
        "(a printed line reaches the websocket within about this long).",
        min=0.01,
        max=5.0,
    )
    notebook_output_max_bytes = _int(
        32 * MIB,
        "Largest executed copy of a notebook job that comes back; a larger one comes back "
        "without its cells' outputs (the job's log says so).",
        min=1024,
    )
    notebook_collect_interval_s = _float(
        2.0,
        "Seconds between two looks for ended notebook jobs whose executed copy is still to be "
        "written next to the input (only while there are any).",
        min=0.1,
    )


class LimitsConfig(HasTraits):
    """Limits on requests and per-user quotas, and the insecure-server refusal."""

    max_request_body_bytes = _int(
        1 * MIB, "Largest JSON request body (job submit); larger bodies answer 413 unread.", min=1
    )
    package_max_bytes = _int(
        100 * MIB,
        "Largest working_dir zip `POST packages` accepts; larger uploads answer 413.",
        min=1,
    )
    package_max_entries = _int(
        10000, "Most files and directories an uploaded working_dir zip may hold.", min=1
    )
    package_max_expanded_bytes = _int(
        1024 * MIB, "Largest total uncompressed size of an uploaded zip (refuses zip bombs).", min=1
    )
    max_active_jobs_per_user = _int(
        0,
        "Jobs one user may have PENDING or RUNNING at once; more submissions answer 429. "
        "0: no limit.",
    )
    max_submits_per_minute = _int(
        0, "Job submissions one user may make in any 60 s; more answer 429. 0: no limit."
    )
    websocket_max_buffer_bytes = _int(
        4 * MIB,
        "Most bytes a websocket (cluster, events, log tail) may have written but not yet sent "
        "to its client; a client that falls further behind (reads nothing) is closed with code "
        "1008 and a reason, so it never grows the server. One message larger than this is "
        "still sent on an otherwise empty buffer.",
        min=1,
    )
    log_tail_max_clients_per_user = _int(
        32, "Most log-tail websockets one user may hold open at once; more answer 429.", min=1
    )
    allow_insecure = _bool(
        False,
        "Let iog's mutating endpoints work even when the Jupyter server runs with "
        "authentication or XSRF checks disabled, or allow_origin='*' (they refuse with 403 "
        "otherwise).",
    )


class SessionsConfig(HasTraits):
    """Notebook sessions and the idle policy (off by default)."""

    idle_warn_after_s = _float(
        0.0,
        "Seconds a notebook session (a kernel of this server that is a Ray driver) may sit "
        "idle while holding idle_release_resources before GET sessions and the "
        "SessionsWidget warn about it (audited once). 0: no warning.",
        min=0.0,
    )
    idle_release_after_s = _float(
        0.0,
        "Seconds idle after which the idle policy kills the session's non-detached actors "
        "and cancels its tasks that hold idle_release_resources; detached actors and other "
        "sessions are never touched, and keep_alive() exempts a session. Audited. 0: never.",
        min=0.0,
    )
    idle_release_resources = _texts(
        ["GPU"], "Resources whose holders the idle policy warns about and releases."
    )
    idle_check_interval_s = _float(
        30.0,
        "Seconds between two passes of the idle policy, which runs only when "
        "idle_warn_after_s or idle_release_after_s is set.",
        min=0.1,
    )
    idle_keep_alive_max_s = _float(
        24 * 3600.0,
        "Longest exemption from iog_jupyter.keep_alive() the idle policy honours, counted "
        "from when it was set.",
        min=0.0,
    )
    sessions_release_foreign = _bool(
        False,
        "Let POST sessions/{session_id}/release release Ray drivers that are not kernels "
        "of this Jupyter server (other users' notebooks, scripts, jobs). Off: 403.",
    )
    usage_sample_interval_s = _float(
        10.0,
        "Seconds between two samples of the sessions for usage accounting (GET usage); "
        "a sample counts for at most twice this, so gaps while the server was down are not "
        "billed.",
        min=0.1,
    )
    usage_retention_days = _float(
        90.0, "Days of usage buckets (one per minute and holder) usage.sqlite keeps.", min=0.0
    )
    usage_max_rows = _int(
        1_000_000, "Most usage buckets usage.sqlite keeps; past it the oldest minutes go.", min=1
    )


class ActorsConfig(HasTraits):
    """Detached actors: the TTL reaper and protected namespaces."""

    actor_reap_interval_s = _float(
        30.0,
        "Seconds between two passes of the detached-actor reaper, which kills actors whose "
        "TTL ran out (audited) and drops records of actors that are gone. 0 turns it off.",
    )
    protected_actor_namespaces = _texts(
        list(DEFAULT_PROTECTED_NAMESPACES),
        "Namespaces whose actors `GET actors` hides (unless asked by name) and that "
        "`DELETE actors/...` and the reaper never kill, on top of Ray's job supervisors, "
        "iog_jupyter's own namespace and names starting with _ray_internal.",
    )


def default_state_dir() -> str:
    """The state dir when ``jobs_state_dir`` is unset: ``<jupyter data dir>/iog_jupyter``."""
    return os.path.join(jupyter_data_dir(), "iog_jupyter")


class IogJupyterConfig(
    RayConnectionConfig, ClusterConfig, JobsConfig, LimitsConfig, SessionsConfig, ActorsConfig
):
    """All of iog_jupyter's traits, with the defaults computed at run time and the checks."""

    @default("jobs_state_dir")
    def _default_jobs_state_dir(self) -> str:
        return default_state_dir()

    @default("audit_log_path")
    def _default_audit_log_path(self) -> str:
        return os.path.join(self.jobs_state_dir, "audit.log")

    @validate("actor_reap_interval_s")
    def _check_reap_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value != 0 and value < 0.1:
            raise ValueError("actor_reap_interval_s must be 0 (off) or at least 0.1 s")
        return value


#: The areas, in the order the README shows them (``IogJupyterConfig``'s bases).
AREAS: list[type[HasTraits]] = list(IogJupyterConfig.__bases__)


def _split_help(trait: TraitType) -> tuple[str, str | None]:
    """A trait's meaning, and the default its help states (``… Default: <text>.``) if any."""
    meaning, _, stated = trait.help.partition(" Default: ")
    return meaning, (stated.rstrip(".") or None)


def _default_text(trait: TraitType) -> str:
    stated = _split_help(trait)[1]
    if stated:  # computed at run time (from Jupyter's data dir, another trait)
        return f"`{stated}`"
    value = trait.default()
    if isinstance(trait, Bool | Float):
        return f"`{value!r}`"
    if isinstance(trait, Int):
        for unit, size in (("GiB", 1024 * MIB), ("MiB", MIB)):
            if value >= size and value % size == 0:
                return f"`{value}` ({value // size} {unit})"
        return f"`{value}`"
    return f"`{json.dumps(list(value) if isinstance(trait, List) else value)}`"


def config_table() -> str:
    """The README's configuration tables: one per area, a row per trait, from the traits."""
    parts = []
    for area in AREAS:
        title = (area.__doc__ or area.__name__).strip()
        rows = [f"**{title}**", "", "| trait | type | default | meaning |", "|---|---|---|---|"]
        for name, trait in area.class_own_traits(config=True).items():
            meaning = _split_help(trait)[0]
            rows.append(
                f"| `{name}` | {type(trait).__name__} | {_default_text(trait)} | {meaning} |"
            )
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def readme_with_table(text: str) -> str:
    """``text`` (README.md) with the generated tables put between the markers."""
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(text):
        raise ValueError("README.md lacks the configuration table markers.")
    return pattern.sub(lambda _: f"{TABLE_START}\n\n{config_table()}\n\n{TABLE_END}", text)


def main(argv: list[str] | None = None) -> int:
    """Print the tables, or write them into README.md with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    if args.write:
        README.write_text(readme_with_table(README.read_text()))
    else:
        print(config_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
