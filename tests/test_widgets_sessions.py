"""SessionsWidget without a kernel: escaping, both sources (Ray and a real server), release."""

from __future__ import annotations

import asyncio

import pytest

from iog_jupyter.widgets.sessions import (
    RaySessions,
    ServerSessions,
    SessionsWidget,
    fmt_idle,
    fmt_resources,
    sessions_table_html,
)
from tests.fixtures import session_driver

EVIL = '<img src=x onerror="alert(1)">'


def test_table_escapes_everything_that_comes_from_ray_or_jupyter():
    session = {
        "session_id": "01000000",
        "kind": "notebook",
        "notebook_path": f"{EVIL}.ipynb",
        "owner": EVIL,
        "kernel_id": "k",
        "execution_state": "idle",
        "idle_s": 125.0,
        "actors": 2,
        "detached_actors": 1,
        "running_tasks": 0,
        "resources": {"CPU": 0.2, "GPU": 1.0, "memory": 2 * 2**30},
        "policy": {"state": "warned", "message": f"Idle {EVIL}"},
    }
    html = sessions_table_html([session], error=EVIL, own_kernel_id="k", source=EVIL)
    assert "<img" not in html and "&lt;img src=x" in html
    labelled = sessions_table_html([{**session, "label": f"{EVIL}.ipynb"}])
    first_cell = labelled.split("<td")[1].split(">", 1)[1]  # the label first, then the id
    assert first_cell.startswith("&lt;img src=x onerror=") and "<code>01000000</code>" in first_cell
    assert "(this notebook)" in html and "2 min" in html
    assert "GPU 1" in html and "memory 2.0 GiB" in html
    assert "iog-SessionsWidget-warning" in html and "idle, warned" in html
    assert "No Ray drivers" in sessions_table_html([])
    assert fmt_idle(None) == "-" and fmt_idle(7200) == "2.0 h"
    assert fmt_resources({"CPU": 0}) == "nothing"


@pytest.fixture
def foreign_driver(ray_head):
    """A script driver (not a kernel) holding one actor; yields its job id."""
    with session_driver(ray_head, "widget", "--actors", "1") as (_, job_id):
        yield job_id


@pytest.mark.ray
def test_ray_source_lists_and_releases_own_sessions_after_confirmation(foreign_driver):
    widget = SessionsWidget(source=RaySessions(), autostart=False)
    try:
        widget.refresh()
        ids = [s["session_id"] for s in widget.page]
        assert foreign_driver in ids and foreign_driver in widget.table.value
        assert "Ray&#x27;s drivers" in widget.table.value
        widget.session_select.value = foreign_driver
        assert widget.release_selected() is None and widget.armed
        assert widget.get_state()["children"]  # a real widget tree
        assert widget.release_button.description == "Confirm release?"
        reply = widget.release_selected()  # the driver ran as this user: allowed
        assert reply is not None and len(reply["killed_actors"]) == 1
        assert not widget.armed and "killed 1 actor(s)" in widget.notice_line.value
        mine = next(s for s in widget.page if s["session_id"] == foreign_driver)
        assert mine["actors"] == 0
        # Ray's own driver is listed, marked, and never offered for release.
        labels = dict((v, k) for k, v in widget.session_select.options)
        assert labels[foreign_driver].startswith("script (pid ")
        internal = {**mine, "session_id": "0f000000", "internal": True}
        widget.page = [mine, internal]
        widget._sync_options()
        assert "0f000000" not in [v for _, v in widget.session_select.options]
        assert "never released" in widget._html()
        # Someone else's session is refused in this mode, with nothing killed.
        other = {**mine, "owner": "somebody-else", "kernel_id": None}
        widget.page = [other]
        widget._sync_options()
        widget.session_select.value = foreign_driver
        widget.release_selected()
        assert widget.release_selected() is None
        assert "not recorded as yours" in widget.error_line.value
        assert "<td" in widget._repr_html_()
    finally:
        widget.close()


@pytest.mark.ray
async def test_server_source_shows_the_servers_view_and_its_refusals(
    jp_serverapp, foreign_driver, jp_fetch
):
    await jp_fetch("iog", "api", "v1", "status")  # the server is up and iog answers
    source = ServerSessions(jp_serverapp.connection_url, jp_serverapp.identity_provider.token)
    widget = SessionsWidget(source=source, autostart=False)
    try:
        await asyncio.get_running_loop().run_in_executor(None, widget.refresh)
        assert widget.list_error is None, widget.list_error
        row = next(s for s in widget.page if s["session_id"] == foreign_driver)
        assert row["kind"] == "script" and row["policy"]["state"] == "off"
        assert "the Jupyter server at http" in widget.table.value
        widget.session_select.value = foreign_driver
        widget.release_selected()
        result = await asyncio.get_running_loop().run_in_executor(None, widget.release_selected)
        assert result is None and "sessions_release_foreign" in widget.error_line.value
    finally:
        widget.close()
