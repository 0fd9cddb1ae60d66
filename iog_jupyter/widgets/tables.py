"""HTML for the cluster widget: totals header, node table, demands and the disconnected banner.

Pure functions of a snapshot, shared by the live widget and its ``_repr_html_`` fallback, so both
show the same numbers. Every value that comes from the cluster is escaped with :func:`html.escape`.
"""

from __future__ import annotations

from collections import Counter

from ..core.wire import ClusterSnapshot, NodeRecord, ResourceDemand
from .figures import GIB
from .markup import TABLE, esc, row_html, table_html

NODE_STATES = ("ACTIVE", "IDLE", "PENDING", "DEAD")

_TABLE_STYLE = TABLE + ";margin:4px 0"
#: Under the banner of a kernel that is not a Ray driver.
NOT_DRIVER_NOTE = (
    "Kernels that are Ray drivers (they called ray.init) are terminated by Ray when the head "
    "stays unreachable for more than 60 s; this widget is not a driver and keeps retrying."
)
#: Added to a failed refresh's message in a kernel that is a Ray driver (the refresher adds it).
DRIVER_NOTE = (
    " This notebook is a Ray driver: if the head stays away for about a minute, Ray ends its "
    "connection (its tasks, actors and objects are lost); run ray.init() again once the head "
    "is back."
)


def fmt_amount(value: float) -> str:
    """A resource amount: whole numbers without decimals, fractions with up to 2."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def fmt_gib(value_bytes: float) -> str:
    """Bytes as GiB with one decimal."""
    return f"{value_bytes / GIB:.1f}"


#: The resources shown used/total, each with how its amounts are written.
_SHOWN = (
    ("CPU", fmt_amount),
    ("GPU", fmt_amount),
    ("memory", fmt_gib),
    ("object_store_memory", fmt_gib),
)


def used_totals(totals: dict[str, float], available: dict[str, float]) -> list[str]:
    """``used / total`` of CPU, GPU, memory and object store (the last two in GiB, no unit)."""
    shown = []
    for name, fmt in _SHOWN:
        total = float(totals.get(name, 0.0))
        shown.append(f"{fmt(max(0.0, total - float(available.get(name, 0.0))))} / {fmt(total)}")
    return shown


def totals_summary(snapshot: ClusterSnapshot) -> dict[str, str]:
    """The header's numbers as display strings, already escaped.

    Keys: ``CPU``, ``GPU``, ``memory``, ``object_store``, ``nodes`` and ``pools``.
    """
    cpu, gpu, memory, object_store = used_totals(snapshot.totals, snapshot.available)
    states = Counter(node.state for node in snapshot.nodes)
    nodes = ", ".join(f"{states[s]} {s}" for s in NODE_STATES if states[s]) or "none"
    pools = ", ".join(
        f"{esc(p.name)} ({p.num_nodes} node{'s' if p.num_nodes != 1 else ''})"
        for p in snapshot.pools
    )
    return {
        "CPU": cpu,
        "GPU": gpu,
        "memory": f"{memory} GiB",
        "object_store": f"{object_store} GiB",
        "nodes": nodes,
        "pools": pools or "none",
    }


def header_html(snapshot: ClusterSnapshot) -> str:
    """One line of totals: CPU, GPU, memory and object store used/total, nodes by state, pools."""
    labels = ("CPU", "GPU", "Memory", "Object store", "Nodes", "Pools")  # totals_summary's order
    items = zip(labels, totals_summary(snapshot).values(), strict=True)
    cells = " &nbsp;·&nbsp; ".join(f"<b>{label}</b> {value}" for label, value in items)
    when = esc(snapshot.timestamp)
    return (
        f'<div class="iog-ClusterWidget-header">{cells}'
        f'<br><span style="opacity:0.7">updated {when} (used / total)</span></div>'
    )


def _gpu_util(node: NodeRecord) -> str:
    if node.usage is None or not node.usage.gpus:
        return ""
    return ", ".join(
        f"{g.utilization_percent:.0f}%" if g.utilization_percent is not None else "n/a"
        for g in node.usage.gpus
    )


def node_rows(snapshot: ClusterSnapshot) -> list[list[str]]:
    """The node table's cells, already escaped: one row per node."""
    rows = []
    for node in snapshot.nodes:
        usage = node.usage
        cpu_pct = usage.cpu_percent if usage is not None else None
        name = esc(node.node_name) + (" <i>(head)</i>" if node.is_head else "")
        rows.append(
            [
                name,
                esc(node.node_ip),
                esc(node.pool),
                esc(node.state),
                *used_totals(node.resources_total, node.resources_available),
                f"{cpu_pct:.0f}%" if cpu_pct is not None else "",
                _gpu_util(node),
            ]
        )
    return rows


NODE_COLUMNS = (
    "Node",
    "IP",
    "Pool",
    "State",
    "CPU",
    "GPU",
    "Memory GiB",
    "Object store GiB",
    "CPU %",
    "GPU util",
)


def _table(columns: tuple[str, ...], rows: list[list[str]], css_class: str) -> str:
    return table_html(css_class, columns, [row_html(row) for row in rows], style=_TABLE_STYLE)


def nodes_html(snapshot: ClusterSnapshot) -> str:
    """The node table."""
    return _table(NODE_COLUMNS, node_rows(snapshot), "iog-ClusterWidget-nodes")


def _demand_row(demand: ResourceDemand) -> list[str]:
    bundle = ", ".join(f"{fmt_amount(v)} {k}" for k, v in sorted(demand.bundle.items()))
    return [esc(cell) for cell in (bundle, demand.waiting, demand.pool or "", demand.reason)]


def demands_html(snapshot: ClusterSnapshot) -> str:
    """Pending and infeasible resource demands with their reasons ("" when there are none)."""
    parts = []
    columns = ("Bundle", "Waiting", "Pool", "Reason")
    if snapshot.pending_demands:
        rows = [_demand_row(d) for d in snapshot.pending_demands]
        parts.append("<b>Pending demands</b>" + _table(columns, rows, "iog-ClusterWidget-pending"))
    if snapshot.infeasible_demands:
        rows = [_demand_row(d) for d in snapshot.infeasible_demands]
        parts.append(
            '<b style="color:var(--jp-error-color1, #c00)">Infeasible demands</b>'
            + _table(columns, rows, "iog-ClusterWidget-infeasible")
        )
    return "".join(parts)


def banner_html(error: str | None, retry_s: float | None = None) -> str:
    """The disconnected banner: the error (where Ray was looked for and how to start it)."""
    if not error:
        return ""
    retry = f" Retrying every {retry_s:.0f} s." if retry_s else ""
    note = "" if error.endswith(DRIVER_NOTE) else NOT_DRIVER_NOTE
    return (
        '<div class="iog-ClusterWidget-banner" role="alert" style="padding:6px 8px;'
        "border-left:4px solid var(--jp-error-color1, #c00);"
        'background:var(--jp-error-color3, #fee)">'
        f"<b>Disconnected.</b> {esc(error)}{esc(retry)}"
        + (f'<br><span style="opacity:0.8">{esc(note)}</span>' if note else "")
        + "</div>"
    )


def cluster_html(snapshot: ClusterSnapshot | None, error: str | None) -> str:
    """The whole cluster view as static HTML: banner, totals, node table and demands."""
    parts = [banner_html(error)]
    if snapshot is not None:
        parts += [header_html(snapshot), nodes_html(snapshot), demands_html(snapshot)]
    elif not error:
        parts.append("<i>Waiting for the first cluster snapshot…</i>")
    return '<div class="iog-ClusterWidget">' + "".join(parts) + "</div>"
