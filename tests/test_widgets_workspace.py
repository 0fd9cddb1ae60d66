"""workspace(): tabs built on first view, failures contained and escaped, one close for all."""

from __future__ import annotations

import pytest

from iog_jupyter.core.jobs import select_backend
from iog_jupyter.widgets.workspace import WorkspaceWidget, workspace


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
