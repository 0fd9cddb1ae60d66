"""ClusterWidget without a kernel: widget state, figures, HTML fallback; then with a real head."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.local_head import LocalHead, free_port
from iog_jupyter.widgets import ClusterWidget, get_refresher
from iog_jupyter.widgets.refresher import SharedRefresher
from iog_jupyter.widgets.tables import totals_summary
from tests.test_widgets_figures import RAW_MARKUP, sample_snapshot, strings_in

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture
def offline_widget() -> Iterator[ClusterWidget]:
    """A widget that polls nothing: tests feed it snapshots with update()."""
    widget = ClusterWidget(autostart=False, refresher=SharedRefresher())
    yield widget
    widget.close()


def test_widget_state_shows_the_snapshot_escaped(offline_widget: ClusterWidget) -> None:
    snap = sample_snapshot()
    offline_widget.update(snap, history=[snap.history_point()])
    state = offline_widget.get_state()
    assert state["children"] == [f"IPY_MODEL_{c.model_id}" for c in offline_widget.children]
    header = offline_widget.header.get_state()["value"]
    assert "<b>CPU</b> 3 / 28" in header and "<b>GPU</b> 1 / 2" in header
    nodes = offline_widget.nodes.get_state()["value"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in nodes
    demands = offline_widget.demands.get_state()["value"]
    assert "infeasible: no node of the cluster has 8 GPU in total" in demands
    for child in (offline_widget.header, offline_widget.nodes, offline_widget.demands):
        assert not any(raw in child.get_state()["value"] for raw in RAW_MARKUP)
    texts = strings_in(offline_widget.figure.to_plotly_json()["data"])
    assert "&lt;img src=x onerror=alert(1)&gt; (head)" not in texts  # the head is 10.0.0.1
    assert any("&lt;img src=x onerror=alert(1)&gt;" in t for t in texts)
    assert not [t for t in texts if any(raw in t for raw in RAW_MARKUP)]
    assert offline_widget.connected and offline_widget.banner.value == ""


def test_figure_is_updated_in_place(offline_widget: ClusterWidget) -> None:
    figure = offline_widget.figure
    offline_widget.update(sample_snapshot(head_cpu_used=2.0))
    offline_widget.update(sample_snapshot(timestamp_ms=1_700_000_002_000, head_cpu_used=6.0))
    assert offline_widget.figure is figure
    head = list(figure.data[0].x[1]).index("10.0.0.1 (head)")
    assert figure.data[0].y[head] == 6.0


def test_error_keeps_the_last_snapshot_and_shows_the_banner(offline_widget: ClusterWidget) -> None:
    offline_widget.update(sample_snapshot())
    offline_widget.update(None, "Ray is not reachable at 127.0.0.1:1 <script>")
    banner = offline_widget.banner.get_state()["value"]
    assert "Ray is not reachable at 127.0.0.1:1 &lt;script&gt;" in banner
    assert not offline_widget.connected
    assert offline_widget.snapshot is not None
    assert "<b>CPU</b> 3 / 28" in offline_widget._repr_html_()
    offline_widget.update(sample_snapshot())
    assert offline_widget.banner.value == "" and offline_widget.connected


def test_connected_never_reads_true_beside_the_banner(offline_widget: ClusterWidget) -> None:
    """A reader not holding the widget's lock (a kernel thread) sees a consistent pair."""
    seen: list[tuple[bool, str]] = []

    def record(_change) -> None:
        seen.append((offline_widget.connected, offline_widget.banner.value))

    for child in (offline_widget.header, offline_widget.nodes, offline_widget.demands):
        child.observe(record, "value")
    offline_widget.banner.observe(record, "value")
    offline_widget.update(sample_snapshot())
    offline_widget.update(None, "Ray is not reachable at 127.0.0.1:1")
    offline_widget.update(sample_snapshot(timestamp_ms=1_700_000_002_000))
    assert len(seen) >= 5
    assert not [pair for pair in seen if pair[0] and pair[1]], seen
    assert seen[-1] == (False, "") and offline_widget.connected  # connected flips last


def test_mimebundle_has_the_widget_view_and_an_html_fallback(
    offline_widget: ClusterWidget,
) -> None:
    offline_widget.update(sample_snapshot())
    bundle = offline_widget._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == offline_widget.model_id
    assert "text/plain" in bundle
    assert bundle["text/html"] == offline_widget._repr_html_()
    assert "&lt;img src=x onerror=alert(1)&gt;" in bundle["text/html"]
    assert "<img" not in bundle["text/html"]
    assert "text/html" not in offline_widget._repr_mimebundle_(exclude=["text/html"])


def test_close_closes_the_children(offline_widget: ClusterWidget) -> None:
    children = list(offline_widget.children)
    offline_widget.close()
    assert offline_widget.comm is None
    assert all(child.comm is None for child in children)
    offline_widget.update(sample_snapshot())  # ignored after close, no error
    assert offline_widget.snapshot is None


def test_unreachable_ray_shows_where_and_how_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    widget = ClusterWidget(refresh_interval_s=0.1, refresher=SharedRefresher())
    try:
        wait_until(lambda: widget.error is not None)
        banner = widget.banner.value
        html = widget._repr_html_()
    finally:
        widget.close()
    assert f"Ray is not reachable at {address}" in banner
    assert "ray start --head" in banner
    assert f"Ray is not reachable at {address}" in html
    assert not widget.refresher.running


@pytest.mark.ray
def test_widget_shows_the_heads_resources(ray_head: LocalHead) -> None:
    widget = ClusterWidget(refresh_interval_s=0.5)
    try:
        wait_until(lambda: widget.snapshot is not None)
        html = widget._repr_html_()
        header = widget.header.value
        snap = widget.snapshot
    finally:
        widget.close()
    conn = RayConnection()
    try:
        direct = get_cluster_snapshot(conn)
    finally:
        conn.close()
    assert snap is not None
    assert snap.totals["CPU"] == direct.totals["CPU"] == 2.0  # the fixture's num_cpus
    assert snap.totals["memory"] == direct.totals["memory"]
    summary = totals_summary(direct)
    assert f"<b>CPU</b> {summary['CPU']}" in header
    for key in ("CPU", "memory", "object_store", "nodes"):
        assert summary[key] in html
    assert [n.node_id for n in snap.nodes if n.is_head] == [
        n.node_id for n in direct.nodes if n.is_head
    ]
    assert len([n for n in snap.nodes if n.is_head]) == 1


@pytest.mark.ray
def test_two_widgets_share_one_refresher_and_close_stops_it(ray_head: LocalHead) -> None:
    refresher = get_refresher()
    assert not refresher.running
    first = ClusterWidget(refresh_interval_s=0.3)
    second = ClusterWidget(refresh_interval_s=0.3)
    try:
        assert first.refresher is second.refresher is refresher
        assert refresher.num_subscribers == 2
        wait_until(lambda: first.snapshot is not None and second.snapshot is not None)
        calls = refresher.calls
        time.sleep(1.5)
        polls = refresher.calls - calls
        threads = [t for t in threading.enumerate() if t.name == "iog-refresher"]
        thread = refresher.thread
    finally:
        first.close()
    assert 2 <= polls <= 6  # 1.5 s / 0.3 s, once; two pollers would make ~10
    assert len(threads) == 1
    assert thread is not None and thread.is_alive()  # the second widget still listens
    second.close()
    thread.join(5)
    assert not thread.is_alive() and not refresher.running
    calls = refresher.calls
    time.sleep(0.5)
    assert refresher.calls == calls


def test_dashboard_link_points_at_the_servers_read_only_proxy(monkeypatch) -> None:
    from iog_jupyter.widgets import cluster, sessions

    widget = ClusterWidget(
        autostart=False, refresher=SharedRefresher(), dashboard_base_url='/user/a"b/'
    )
    try:
        value = widget.dashboard_link.get_state()["value"]
        assert 'href="/user/a&quot;b/iog/dashboard/"' in value
        assert 'rel="noopener noreferrer"' in value and 'target="_blank"' in value
    finally:
        widget.close()
    # Only a plain absolute path is trusted as a base URL.
    for bad in ("javascript:alert(1)//", "//evil.example/", "", None):
        assert cluster.dashboard_link_html(bad) == ""
    # Discovered from the server that started the kernel; none outside a kernel.
    monkeypatch.setattr(sessions, "parent_server_info", lambda: {"base_url": "/lab-base/"})
    found = ClusterWidget(autostart=False, refresher=SharedRefresher())
    try:
        assert 'href="/lab-base/iog/dashboard/"' in found.dashboard_link.value
    finally:
        found.close()
    monkeypatch.setattr(sessions, "parent_server_info", lambda: None)
    plain = ClusterWidget(autostart=False, refresher=SharedRefresher())
    try:
        assert plain.dashboard_link.value == ""
    finally:
        plain.close()
