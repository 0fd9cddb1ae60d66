"""Human-readable views for the terminal: a ``ray status``-like cluster report.

Every function takes the wire JSON (``ClusterSnapshot`` JSON, the ``status`` reply), so the
local mode and the remote mode print exactly the same thing. Text that comes from the cluster
(node names, labels, pools, reasons) is stripped of control characters before it is printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

GIB = 1024**3
#: Resources Ray counts in bytes.
BYTE_RESOURCES = ("memory", "object_store_memory")
#: The order of node states, with the headings ``ray status`` uses.
STATE_HEADINGS = (
    ("ACTIVE", "Active"),
    ("IDLE", "Idle"),
    ("PENDING", "Pending"),
    ("DEAD", "Recent failures"),
)


def clean(text: Any, keep: str = "") -> str:
    """Make untrusted text safe for a terminal: control characters not in ``keep`` become ``?``."""
    return "".join(ch if ch.isprintable() or ch in keep else "?" for ch in str(text))


def format_used_total(name: str, total: float, available: float) -> str:
    """``used/total name`` with units (GiB for memory), as ``ray status`` prints a usage line."""
    used = max(total - available, 0.0)
    if name in BYTE_RESOURCES:
        return f"{used / GIB:.2f}/{total / GIB:.2f} GiB {clean(name)}"
    return f"{used:g}/{total:g} {clean(name)}"


def _resource_names(totals: Mapping[str, float]) -> list[str]:
    standard = ["CPU", "GPU", "memory", "object_store_memory"]
    custom = sorted(name for name in totals if name not in standard)
    return [name for name in standard if name in totals] + custom


def _short(node: Mapping[str, Any]) -> str:
    node_id = str(node.get("node_id") or "")
    name = clean(node.get("node_name") or node.get("node_ip") or node_id[:12])
    tags = []
    if node.get("is_head"):
        tags.append("head")
    if node_id:
        tags.append(clean(node_id[:12]))
    return f"{name} ({', '.join(tags)})" if tags else name


def _node_resources(node: Mapping[str, Any]) -> str:
    total = node.get("resources_total") or {}
    available = node.get("resources_available") or {}
    parts = []
    for name in ("CPU", "GPU"):
        if name in total and (name == "CPU" or total[name]):
            used = total[name] - available.get(name, total[name])
            parts.append(f"{name} {used:g}/{total[name]:g}")
    if total.get("memory"):
        used = total["memory"] - available.get("memory", total["memory"])
        parts.append(f"memory {used / GIB:.2f}/{total['memory'] / GIB:.2f} GiB")
    return ", ".join(parts)


def format_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ``Node status`` section: nodes by state, then by pool."""
    nodes = list(nodes)
    lines = ["Node status", "-" * 60]
    for state, heading in STATE_HEADINGS:
        in_state = [n for n in nodes if n.get("state") == state]
        lines.append(f"{heading}:")
        if not in_state:
            lines.append(" (no failures)" if state == "DEAD" else f" (no {heading.lower()} nodes)")
            continue
        pools: dict[str, list[Mapping[str, Any]]] = {}
        for node in in_state:
            pools.setdefault(str(node.get("pool") or "default"), []).append(node)
        for pool, members in sorted(pools.items()):
            noun = "node" if len(members) == 1 else "nodes"
            lines.append(f" pool {clean(pool)}: {len(members)} {noun}")
            for node in members:
                detail = _node_resources(node)
                lines.append(f"  {_short(node)}" + (f"  {detail}" if detail else ""))
    return lines


def format_resources(snapshot: Mapping[str, Any]) -> list[str]:
    """The ``Resources`` section: cluster usage, then per pool when there is more than one."""
    totals = snapshot.get("totals") or {}
    available = snapshot.get("available") or {}
    lines = ["Resources", "-" * 60, "Usage:"]
    for name in _resource_names(totals):
        lines.append(" " + format_used_total(name, totals[name], available.get(name, 0.0)))
    pools = snapshot.get("pools") or []
    if len(pools) > 1:
        lines.append("Pools:")
        for pool in pools:
            p_totals = pool.get("totals") or {}
            p_avail = pool.get("available") or {}
            shown = [
                format_used_total(name, p_totals[name], p_avail.get(name, 0.0))
                for name in ("CPU", "GPU")
                if name in p_totals and (name == "CPU" or p_totals[name])
            ]
            noun = "node" if pool.get("num_nodes") == 1 else "nodes"
            lines.append(
                f" {clean(pool.get('name'))} ({pool.get('num_nodes', 0)} {noun}): "
                + ", ".join(shown)
            )
    gpu_lines = format_gpu_usage(snapshot.get("nodes") or [])
    if gpu_lines:
        lines.append("GPU utilization:")
        lines.extend(gpu_lines)
    return lines


def format_gpu_usage(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per GPU that a node's reporter measured: utilization and memory."""
    lines = []
    for node in nodes:
        usage = node.get("usage") or {}
        for gpu in usage.get("gpus") or []:
            util = gpu.get("utilization_percent")
            used = gpu.get("memory_used_bytes")
            total = gpu.get("memory_total_bytes")
            parts = [f"{util:.0f}% util" if util is not None else "util n/a"]
            if used is not None and total:
                parts.append(f"{used / GIB:.1f}/{total / GIB:.1f} GiB")
            name = clean(gpu.get("name") or "GPU")
            lines.append(f" {_short(node)} GPU {gpu.get('index', '?')} {name}: " + ", ".join(parts))
    return lines


def _bundle(bundle: Mapping[str, float]) -> str:
    return json.dumps({clean(k): v for k, v in sorted(bundle.items())}, separators=(", ", ": "))


def format_demands(snapshot: Mapping[str, Any]) -> list[str]:
    """The ``Demands`` section: waiting and infeasible resource requests, each with its reason."""
    pending = snapshot.get("pending_demands") or []
    infeasible = snapshot.get("infeasible_demands") or []
    lines = ["Demands:"]
    if not pending and not infeasible:
        lines.append(" (no resource demands)")
        return lines
    for heading, demands in (("Pending", pending), ("Infeasible", infeasible)):
        if not demands:
            continue
        lines.append(f" {heading}:")
        for demand in demands:
            waiting = clean(demand.get("waiting") or f"{demand.get('count', 1)}")
            lines.append(
                f"  {_bundle(demand.get('bundle') or {})} for {waiting}: "
                f"{clean(demand.get('reason') or '')}"
            )
    return lines


def format_connection(status: Mapping[str, Any]) -> str:
    """One line saying which Ray this is and how it was found."""
    ray = status.get("ray") or {}
    name = f"Ray {clean(ray['version'])}" if ray.get("version") else "Ray"
    parts = [f"{name} at {clean(ray.get('address') or '?')}"]
    if ray.get("address_source"):
        parts[0] += f" (from {clean(ray['address_source'])})"
    parts.append(f"auth {clean(ray.get('auth_mode') or 'unknown')}")
    if status.get("server"):
        parts.append(f"via {clean(status['server'])}")
    if status.get("jobs_backend"):
        parts.append(f"jobs backend {clean(status['jobs_backend'])}")
    version = status.get("version")
    head = f"iog {clean(version)}: " if version else ""
    notes = (ray.get("capabilities") or {}).get("notes") or []
    return head + ", ".join(parts) + "".join(f"\nNote: {clean(note)}" for note in notes)


def format_status(status: Mapping[str, Any], snapshot: Mapping[str, Any]) -> str:
    """The whole ``iog status`` report."""
    lines = [
        format_connection(status),
        f"======== Cluster status: {clean(snapshot.get('timestamp') or '')} ========",
    ]
    if status.get("last_error"):
        lines.append(f"Last error: {clean(status['last_error'])}")
    lines.extend(format_nodes(snapshot.get("nodes") or []))
    lines.append("")
    lines.extend(format_resources(snapshot))
    lines.extend(format_demands(snapshot))
    return "\n".join(lines)


def to_json(data: Any) -> str:
    """Machine JSON for ``--json``: indented, keys in wire order."""
    return json.dumps(data, indent=2)


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print ``data`` as JSON (``--json``), else ``text``."""
    print(to_json(data) if as_json else text, flush=True)


def collect(
    fetch: Callable[[str | None], Mapping[str, Any]], key: str, every: bool
) -> tuple[list[Any], Mapping[str, Any]]:
    """The ``key`` items of the first page, or of every page (``--all``); and the last page.

    ``fetch(cursor)`` reads the page at a cursor (None: the first) as wire JSON.
    """
    page = fetch(None)
    items = list(page.get(key) or [])
    while every and page.get("next_cursor"):
        page = fetch(page["next_cursor"])
        items.extend(page.get(key) or [])
    return items, page


def when(iso: Any) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM:SS`` (cleaned), or ``-``."""
    return clean(iso)[:19].replace("T", " ") if iso else "-"


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells (the first is the header) in columns two spaces apart.

    The last column is not padded: a long last cell (an entrypoint, a path) widens no other.
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _cut(text: Any, width: int) -> str:
    text = clean(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def format_jobs_table(jobs: Iterable[Mapping[str, Any]], width: int = 48) -> str:
    """The ``iog jobs list`` table: name (and id), status, owner, start time, command.

    A job's name is followed by its id when they differ; the command is truncated to ``width``.
    """
    rows = [("NAME", "STATUS", "OWNER", "STARTED", "COMMAND")]
    for job in jobs:
        sid = clean(job.get("submission_id") or "")
        name = clean(job.get("name") or sid)
        rows.append(
            (
                sid if name == sid else f"{_cut(name, 40)} ({sid})",
                clean(job.get("status") or ""),
                clean(job.get("owner") or "-"),
                when(job.get("start_time")),
                _cut(job.get("command") or job.get("entrypoint") or "", width),
            )
        )
    return format_table(rows)


#: The fields ``iog jobs get`` shows, in order (the raw ``entrypoint`` only with ``--json``).
JOB_FIELDS = (
    "name",
    "submission_id",
    "status",
    "pending_reason",
    "message",
    "owner",
    "command",
    "start_time",
    "end_time",
    "exit_code",
    "pool",
    "entrypoint_num_cpus",
    "entrypoint_num_gpus",
    "entrypoint_memory",
    "entrypoint_resources",
    "backend",
    "metadata",
    "runtime_env",
)


def format_job(job: Mapping[str, Any]) -> str:
    """``iog jobs get``: one ``field: value`` line per field that has a value."""
    lines = []
    for name in JOB_FIELDS:
        value = job.get(name)
        # A job without a name is called by its id, the next line.
        if value in (None, {}, "") or (name == "name" and value == job.get("submission_id")):
            continue
        shown = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
        lines.append(f"{name}: {clean(shown)}")
    return "\n".join(lines)
