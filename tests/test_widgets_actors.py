"""ActorsWidget without a kernel: escaping and expiry text; then actors on the real head."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from iog_jupyter.core.actors.registry import ActorRegistry
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.wire import ActorRecord
from iog_jupyter.widgets import ActorsWidget
from iog_jupyter.widgets.actors import actors_table_html, expiry_text, fmt_duration
from iog_jupyter.widgets.refresher import THREAD_NAME
from iog_jupyter.widgets.snapshots import CALL_THREAD_NAME

from .test_core_actors import run_driver

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def record(**fields) -> ActorRecord:
    base = dict(
        namespace="ns",
        name="a",
        actor_id="ab",
        state="ALIVE",
        class_name="C",
        detached=True,
    )
    return ActorRecord(**{**base, **fields})


def test_table_escapes_everything_from_ray():
    hostile = record(
        namespace=XSS, name=XSS, class_name=XSS, owner=XSS, state=XSS, created_ms=1_000
    )
    out = actors_table_html([hostile], now_ms=0, error=XSS)
    assert "<img" not in out and out.count(XSS_ESCAPED) == 6
    assert "iog-actor-UNKNOWN" in out and "No detached actors." in actors_table_html([], 0)
    protected = actors_table_html([record(protected=True)], 0)
    assert "(protected)" in protected


def test_expiry_and_durations():
    assert expiry_text(record(), 0) == "never"
    assert expiry_text(record(expires_ms=10_000 + 600_000), 10_000) == "in 10 min"
    assert expiry_text(record(expires_ms=5), 10) == "due now"
    assert [fmt_duration(s) for s in (5, 300, 7200, 3 * 86400)] == [
        "5 s",
        "5 min",
        "2.0 h",
        "3.0 d",
    ]
    row = actors_table_html([record(ttl_s=3600.0, expires_ms=3_600_000)], now_ms=0)
    assert ">60 min<" in row and "in 60 min" in row


@pytest.fixture
def registry(ray_head) -> Iterator[ActorRegistry]:
    conn = RayConnection()
    try:
        yield ActorRegistry(conn, ["serve"])
    finally:
        conn.close()


@pytest.mark.ray
def test_widget_lists_filters_and_kills_with_confirmation(ray_head, registry):
    ns = f"iotw-{uuid.uuid4().hex[:8]}"
    made = run_driver(
        ray_head,
        [
            ["iog", "keep", ns, {"ttl_s": 600}],
            ["iog", "victim", ns, {}],
            ["plain", "_ray_internal_w", ns, {}],
        ],
    )
    widget = ActorsWidget(registry, namespace=ns, autostart=False)
    try:
        assert widget.threads == []
        widget.refresh()
        assert {a.name for a in widget.page.actors} == {"keep", "victim", "_ray_internal_w"}
        state = widget.table.get_state()
        assert "keep" in state["value"] and "in 10 min" in state["value"]
        # Protected actors are shown but never offered for a kill.
        offered = [value for _, value in widget.actor_select.options]
        assert offered == [None, (ns, "keep"), (ns, "victim")]
        assert "1 of" not in widget.count_label.value and "3 actor(s)" in widget.count_label.value

        widget.actor_select.value = (ns, "victim")
        assert widget.kill_selected() is False
        assert widget.armed == (ns, "victim")
        assert widget.kill_button.get_state()["description"] == "Confirm kill?"
        assert "victim" in {a.name for a in registry.list(namespace=ns).actors}
        assert widget.kill_selected() is True
        assert widget.armed is None and widget.kill_button.description == "Kill"
        assert "Killed victim" in widget.notice_line.value
        deadline = time.monotonic() + 30
        while "victim" in {a.name for a in registry.list(namespace=ns).actors}:
            assert time.monotonic() < deadline
            time.sleep(0.2)

        # A bad filter shows an escaped error and keeps the last table.
        widget.namespace_filter.value = XSS + "x" * 300
        assert "<img" not in widget.table.value and XSS_ESCAPED in widget.table.value
        assert widget.list_error and "printable" in widget.list_error
        widget.namespace_filter.value = ns
        html = widget._repr_html_()
        keep = next(a for a in widget.page.actors if a.name == "keep")
        assert "keep" in html and keep.actor_id == made[0]["actor_id"]
        bundle = widget._repr_mimebundle_()
        assert "keep" in bundle["text/html"]
    finally:
        widget.close()
        registry.kill(ns, "keep")
    assert widget.threads == []


@pytest.mark.ray
def test_widget_refresh_thread_starts_and_stops(ray_head, registry):
    widget = ActorsWidget(registry, refresh_interval_s=0.2)
    try:
        deadline = time.monotonic() + 20
        while widget.page is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # The kernel's refresher and its call thread, where the refresh runs.
        assert [t.name for t in widget.threads] == [THREAD_NAME, CALL_THREAD_NAME]
        threads = widget.threads
    finally:
        widget.close()
    assert widget.threads == [] and not any(t.is_alive() for t in threads)
    assert registry.conn is not None  # a registry that was passed in stays open
    registry.list(limit=1)
