"""workspace(): tabs built on first view, failures contained and escaped, one close for all,
every tab refreshed by the kernel's one refresher thread."""

from __future__ import annotations

import threading
import time

import pytest

from iog_jupyter.core.jobs import select_backend
from iog_jupyter.core.wire import ActorPage
from iog_jupyter.widgets import refresher as refresher_module
from iog_jupyter.widgets.refresher import THREAD_NAME, SharedRefresher
from iog_jupyter.widgets.snapshots import CALL_THREAD_NAME
from iog_jupyter.widgets.workspace import WorkspaceWidget, workspace

from .test_widgets_refresher import FakeRay, wait_until


def test_tabs_are_built_when_first_shown(tmp_path):
    backend = select_backend(None, "local", state_dir=str(tmp_path))
    ws = workspace(
        tabs=("jobs", "cluster"),
        jobs={"backend": backend, "autostart": False, "working_dir_roots": [str(tmp_path)]},
        cluster={"autostart": False},
    )
    try:
        assert ws.titles == ("Jobs", "Cluster")
        assert list(ws.built) == ["jobs"] and ws.selected_index == 0
        assert type(ws.children[0]).__name__ == "JobsWidget"
        assert "Loading" in ws.children[1].value
        ws.selected_index = 1  # what a click on the tab does
        assert list(ws.built) == ["jobs", "cluster"]
        assert type(ws.children[1]).__name__ == "ClusterWidget"
        assert ws.show("jobs") is ws.built["jobs"] and ws.selected_index == 0
        page = ws._repr_html_()
        assert "<h3>Jobs</h3>" in page and "<h3>Cluster</h3>" in page
        assert "text/html" in ws._repr_mimebundle_()
    finally:
        ws.close()
        backend.close()
    assert ws.built["jobs"].threads == []


def test_a_failing_tab_is_reported_escaped_and_the_rest_work(tmp_path):
    backend = select_backend(None, "local", state_dir=str(tmp_path))
    ws = WorkspaceWidget(
        tabs=("jobs", "cluster"),
        options={"jobs": {"backend": backend, "autostart": False, "page_size": "<img src=x>"}},
    )
    try:
        error = ws.built["jobs"].value
        assert "Could not open this tab" in error and "<img" not in error
        assert "&lt;img src=x&gt;" in error
    finally:
        ws.close()
        backend.close()


def test_unknown_tabs_are_refused():
    with pytest.raises(ValueError, match="Unknown workspace tab 'gpus'"):
        workspace(tabs=("cluster", "gpus"))
    with pytest.raises(ValueError, match="at least one tab"):
        workspace(tabs=())


class FakeSessions:
    name = "a fake source"

    def __init__(self) -> None:
        self.calls = 0

    def list(self) -> list[dict]:
        self.calls += 1
        return []

    def close(self) -> None:
        pass


class FakeActors:
    def __init__(self) -> None:
        self.calls = 0

    def list(self, **_: object) -> ActorPage:
        self.calls += 1
        return ActorPage(actors=[], next_cursor=None, total=0)


def test_all_four_tabs_refresh_on_the_kernels_one_thread(tmp_path, monkeypatch):
    fake = FakeRay()
    shared = SharedRefresher(fake.factory)
    monkeypatch.setattr(refresher_module, "_singleton", shared)  # what widgets get by default
    backend = select_backend(None, "local", state_dir=str(tmp_path))
    sessions, actors = FakeSessions(), FakeActors()
    fast = {"refresh_interval_s": 0.05}
    ws = workspace(
        cluster=fast,
        jobs={**fast, "backend": backend, "working_dir_roots": [str(tmp_path)]},
        sessions={**fast, "source": sessions},
        actors={**fast, "registry": actors},
    )
    try:
        for kind in ws.kinds:
            ws.show(kind)
        assert shared.num_subscribers == 4
        wait_until(
            lambda: (
                ws.built["cluster"].snapshot is not None
                and all(ws.built[kind].page is not None for kind in ("jobs", "sessions", "actors"))
                and sessions.calls >= 3
                and actors.calls >= 3
            )
        )
        names = sorted(t.name for t in threading.enumerate() if t.name.startswith("iog-"))
        assert names == sorted([THREAD_NAME, CALL_THREAD_NAME])  # the kernel's, none per widget
        for kind in ("jobs", "sessions", "actors"):
            assert ws.built[kind].threads == shared.threads
        thread = shared.thread
    finally:
        ws.close()
        backend.close()
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive() and shared.num_subscribers == 0
    calls = sessions.calls, actors.calls, shared.calls
    time.sleep(0.2)
    assert (sessions.calls, actors.calls, shared.calls) == calls
