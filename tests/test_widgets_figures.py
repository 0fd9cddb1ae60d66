"""Pure tests of widgets/figures.py and widgets/tables.py on snapshots built from Ray's schema."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pytest
from ray.autoscaler.v2.schema import (
    ClusterStatus,
    NodeInfo,
    RayTaskActorDemand,
    ResourceDemandSummary,
    ResourceRequestByCount,
    ResourceUsage,
    Stats,
)
from ray.autoscaler.v2.schema import NodeUsage as RayNodeUsage

from iog_jupyter.core.cluster import build_snapshot
from iog_jupyter.core.wire import ClusterSnapshot, GpuUsage, HistoryPoint, NodeUsage
from iog_jupyter.widgets import figures, tables
from tests.ray_versions import CAPS

GIB = 1024**3
EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_POOL = "<b>evil</b>"
EVIL_GPU = "<script>alert(2)</script>"
RAW_MARKUP = ("<img", "<script", "<b>evil")


def _node(node_id: str, ip: str, pool: str, usage: dict[str, tuple[float, float]]) -> NodeInfo:
    pool_by: dict[str, Any] = {"labels": {"ray.io/node-group": pool}}
    if not CAPS.node_labels:  # this Ray's NodeInfo has no labels: the pool is a custom resource
        pool_by = {}
        usage = {**usage, f"pool:{pool}": (1, 0)}
    return NodeInfo(
        instance_type_name="",
        ray_node_type_name="",
        instance_id="",
        ip_address=ip,
        node_id=node_id,
        **pool_by,
        resource_usage=RayNodeUsage(
            usage=[ResourceUsage(name, total, used) for name, (total, used) in usage.items()],
            idle_time_ms=0,
        ),
    )


def sample_snapshot(
    timestamp_ms: int = 1_700_000_000_000, head_cpu_used: float = 2.0
) -> ClusterSnapshot:
    """Three nodes (head, a 2-GPU worker, an idle node with a hostile name), two demands."""
    head = _node(
        "aa" * 14,
        "10.0.0.1",
        "head",
        {
            "CPU": (8, head_cpu_used),
            "memory": (32 * GIB, 4 * GIB),
            "object_store_memory": (8 * GIB, 1 * GIB),
            "node:__internal_head__": (1, 0),
            "node:10.0.0.1": (1, 0),
        },
    )
    gpu = _node(
        "bb" * 14,
        "10.0.0.2",
        "gpu",
        {"CPU": (16, 1), "GPU": (2, 1), "memory": (64 * GIB, 8 * GIB)},
    )
    evil = _node("cc" * 14, EVIL_NAME, EVIL_POOL, {"CPU": (4, 0), "memory": (16 * GIB, 0)})
    status = ClusterStatus(
        active_nodes=[head, gpu],
        idle_nodes=[evil],
        cluster_resource_usage=[
            ResourceUsage("CPU", 28, head_cpu_used + 1),
            ResourceUsage("GPU", 2, 1),
            ResourceUsage("memory", 112 * GIB, 12 * GIB),
            ResourceUsage("object_store_memory", 8 * GIB, 1 * GIB),
        ],
        resource_demands=ResourceDemandSummary(
            ray_task_actor_demand=[
                RayTaskActorDemand(
                    bundles_by_count=[
                        ResourceRequestByCount({"CPU": 8}, 2),
                        ResourceRequestByCount({"GPU": 8}, 1),
                    ]
                )
            ]
        ),
        stats=Stats(gcs_request_time_s=0.01),  # required on Ray 2.40
    )
    usage = {
        "bb" * 14: NodeUsage(
            cpu_percent=42.0,
            memory_used_bytes=8 * GIB,
            memory_total_bytes=64 * GIB,
            gpus=[
                GpuUsage(
                    index=0,
                    name="NVIDIA H100",
                    utilization_percent=87.0,
                    memory_used_bytes=40 * GIB,
                    memory_total_bytes=80 * GIB,
                ),
                GpuUsage(
                    index=1,
                    name=EVIL_GPU,
                    utilization_percent=0.0,
                    memory_used_bytes=0,
                    memory_total_bytes=80 * GIB,
                ),
            ],
        )
    }
    return build_snapshot(status, usage, None, timestamp_ms)


def strings_in(value: Any) -> list[str]:
    """Every string anywhere in a nested JSON-like structure."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings_in(v)]
    return []


def test_sample_snapshot_has_what_the_tests_rely_on() -> None:
    snap = sample_snapshot()
    assert [n.state for n in snap.nodes].count("IDLE") == 1
    assert snap.nodes[0].is_head
    assert len(snap.pending_demands) == 1 and len(snap.infeasible_demands) == 1
    assert {p.name for p in snap.pools} == {"head", "gpu", EVIL_POOL}


def test_resource_bars_show_used_and_free_per_node_grouped_by_pool() -> None:
    snap = sample_snapshot()
    cpu = figures.resource_bar_data(snap, "CPU")
    pools, labels = cpu["used"]["x"]
    by_label = dict(
        zip(labels, zip(pools, cpu["used"]["y"], cpu["free"]["y"], strict=True), strict=True)
    )
    assert by_label["10.0.0.1 (head)"] == ("head", 2.0, 6.0)
    assert by_label["10.0.0.2"] == ("gpu", 1.0, 15.0)
    memory = figures.resource_bar_data(snap, "memory")
    index = memory["used"]["x"][1].index("10.0.0.2")
    assert memory["used"]["y"][index] == pytest.approx(8.0)
    assert memory["free"]["y"][index] == pytest.approx(56.0)


def test_dashboard_figure_escapes_untrusted_text() -> None:
    fig = figures.dashboard_figure(sample_snapshot(), [sample_snapshot().history_point()])
    texts = strings_in(fig.to_plotly_json())
    assert not [t for t in texts if any(raw in t for raw in RAW_MARKUP)]
    joined = "\n".join(texts)
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined
    assert "&lt;b&gt;evil&lt;/b&gt;" in joined
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in joined


@pytest.mark.parametrize(
    "build",
    [
        lambda s: figures.resource_figure(s),
        lambda s: figures.gpu_figure(s),
        lambda s: figures.dashboard_figure(s, [s.history_point()], widget=True),
    ],
)
def test_every_figure_escapes_untrusted_text(build: Any) -> None:
    fig = build(sample_snapshot())
    texts = strings_in(fig.to_plotly_json()["data"])
    assert texts
    assert not [t for t in texts if any(raw in t for raw in RAW_MARKUP)]


def test_history_lines_are_percent_used_with_gaps_without_gpus() -> None:
    history = [
        {"timestamp_ms": 0, "totals": {"CPU": 4, "GPU": 0, "memory": 10}, "available": {
            "CPU": 4, "GPU": 0, "memory": 5}},
        {"timestamp_ms": 2000, "totals": {"CPU": 4, "GPU": 0, "memory": 10}, "available": {
            "CPU": 1, "GPU": 0, "memory": 5}},
    ]  # fmt: skip
    history = [HistoryPoint(**point, num_nodes=1) for point in history]
    cpu, gpu, memory = figures.history_line_data(history)
    assert cpu["y"] == [0.0, 75.0]
    assert gpu["y"] == [None, None]
    assert memory["y"] == [50.0, 50.0]
    assert cpu["x"] == ["1970-01-01T00:00:00.000Z", "1970-01-01T00:00:02.000Z"]
    fig = figures.history_figure(history)
    assert [t.name for t in fig.data] == ["CPU used %", "GPU used %", "Memory used %"]


def test_gpu_utilization_has_one_bar_per_reported_gpu() -> None:
    data = figures.gpu_utilization_data(sample_snapshot())
    assert data["y"] == [87.0, 0.0]
    assert data["x"] == ["10.0.0.2 · GPU 0", "10.0.0.2 · GPU 1"]
    assert data["customdata"][0] == ["NVIDIA H100", "40.0 of 80.0 GiB"]


def test_update_dashboard_figure_changes_data_in_place() -> None:
    fig = figures.dashboard_figure(sample_snapshot(), [], widget=True)
    count = len(fig.data)
    later = sample_snapshot(timestamp_ms=1_700_000_002_000, head_cpu_used=7.0)
    history = [sample_snapshot().history_point(), later.history_point()]
    figures.update_dashboard_figure(fig, later, history)
    assert len(fig.data) == count
    head = list(fig.data[0].x[1]).index("10.0.0.1 (head)")
    assert fig.data[0].y[head] == 7.0 and fig.data[1].y[head] == 1.0
    cpu_line = fig.data[2 * len(figures.RESOURCE_PANELS)]
    assert list(cpu_line.y) == [
        pytest.approx(300 / 28, abs=0.01),
        pytest.approx(800 / 28, abs=0.01),
    ]
    with pytest.raises(ValueError):
        figures.update_dashboard_figure(go.Figure(), later, history)


def test_nodes_sharing_a_name_get_distinct_labels() -> None:
    snap = sample_snapshot()
    for node in snap.nodes:
        node.node_name = "127.0.0.1"
    labels = figures.node_labels(snap.nodes)
    assert len(set(labels)) == len(labels) == 3


def test_cluster_html_shows_totals_nodes_and_demands_escaped() -> None:
    page = tables.cluster_html(sample_snapshot(), None)
    assert "<b>CPU</b> 3 / 28" in page
    assert "<b>GPU</b> 1 / 2" in page
    assert "12.0 / 112.0 GiB" in page
    assert "2 ACTIVE, 1 IDLE" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert not any(raw in page for raw in RAW_MARKUP)
    assert "87%, 0%" in page  # per-GPU utilisation of the GPU node
    assert "waiting: no node of the cluster has 8 CPU free right now" in page
    assert "infeasible: no node of the cluster has 8 GPU in total" in page


def test_banner_escapes_the_error_and_says_how_to_start_ray() -> None:
    html = tables.banner_html("Ray is not reachable at <h1>x</h1>", retry_s=4)
    assert "&lt;h1&gt;x&lt;/h1&gt;" in html and "<h1>" not in html
    assert "Retrying every 4 s" in html
    assert tables.banner_html(None) == ""
    assert "Waiting for the first" in tables.cluster_html(None, None)
    # A kernel that is no driver is told it keeps retrying; a driver is told what Ray does to it,
    # and never both (they would contradict each other).
    assert "this widget is not a driver" in html
    driver = tables.banner_html("Ray is not reachable." + tables.DRIVER_NOTE, retry_s=4)
    assert "This notebook is a Ray driver" in driver and "not a driver" not in driver
