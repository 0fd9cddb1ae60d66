"""JobsWidget without a kernel: ANSI, escaping, form errors; then jobs on the real head."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Iterator

import pytest

from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.jobs import select_backend, validate_submission
from iog_jupyter.core.wire import JobRecord
from iog_jupyter.widgets import JobsWidget
from iog_jupyter.widgets.ansi import ansi_to_html, log_html, xterm_256
from iog_jupyter.widgets.jobs import jobs_table_html, parse_env_vars
from iog_jupyter.widgets.refresher import THREAD_NAME
from iog_jupyter.widgets.snapshots import CALL_THREAD_NAME

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


# -- pure functions ----------------------------------------------------------------------------


def test_ansi_escapes_markup() -> None:
    out = ansi_to_html("<script>alert(1)</script>" + XSS + ' & "q"')
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and XSS_ESCAPED in out
    assert "&amp; &quot;q&quot;" in out


def test_ansi_sgr_becomes_a_coloured_span() -> None:
    assert (
        ansi_to_html("\x1b[31mred\x1b[0m plain") == '<span style="color:#cd3131">red</span> plain'
    )
    bold = ansi_to_html("\x1b[1;38;5;196m<b>\x1b[22;39mx")
    assert bold == '<span style="color:#ff0000;font-weight:bold">&lt;b&gt;</span>x'
    assert ansi_to_html("\x1b[48;2;1;2;3mY") == '<span style="background-color:#010203">Y</span>'
    assert xterm_256(232) == "#080808" and xterm_256(21) == "#0000ff"


def test_ansi_drops_osc8_links_and_other_sequences() -> None:
    assert ansi_to_html("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert ansi_to_html("\x1b]0;title\x07a") == "a"
    # Unknown CSI codes, private modes, cursor moves and stray escapes/controls vanish.
    assert ansi_to_html("a\x1b[2Kb\x1b[?25lc\x1b[10;20Hd\x1b[99me\x1b(Bf\x07g\x00h") == "abcdefgh"
    # A style attribute can never be injected through SGR parameters.
    for hostile in ('\x1b[31;"onmouseover=x m', "\x1b[31;<b>m", '\x1b[38;2;1;2;3";x"m'):
        out = ansi_to_html(hostile)
        assert '"' not in out and "<" not in out.replace("<span", "").replace("</span>", "")
    assert log_html("x\r\ny").startswith('<pre class="iog-job-log"') and "x\ny" in log_html(
        "x\r\ny"
    )


def test_table_and_env_parsing() -> None:
    entry = f"echo {shlex.quote(XSS)}"
    job = JobRecord(submission_id="a<b", status="RUNNING", entrypoint=entry, owner="<o>")
    out = jobs_table_html([job], error="<err>")
    assert "<img" not in out and XSS_ESCAPED in out and "a&lt;b" in out and "&lt;o&gt;" in out
    assert "iog-job-RUNNING" in out and "&lt;err&gt;" in out


def test_rows_show_name_command_and_why_a_job_is_pending() -> None:
    job = JobRecord(
        submission_id="iog_1",
        status="PENDING",
        entrypoint=shlex.join(["python", "-c", "print('hi')"]),
        metadata={"name": XSS},
        pending_reason=f"infeasible: no node of the cluster has 64 GPU {XSS}",
    )
    out = jobs_table_html([job])
    assert "<img" not in out and ">Name</th>" in out and ">Command</th>" in out
    name, status, *_, command = out.split("<td")[1:]
    assert XSS_ESCAPED in name and "<code>iog_1</code>" in name
    assert "iog-job-PENDING" in status and "infeasible: no node of the cluster has 64 GPU" in status
    assert (
        "python -c &quot;print(&#x27;hi&#x27;)&quot;" in command and "&#x27;&quot;&#x27;" not in out
    )
    assert "No jobs." in jobs_table_html([])
    assert parse_env_vars("A=1\n\n# c\nB = x=y\n") == {"A": "1", "B": " x=y"}
    with pytest.raises(Exception, match="line 1 is not KEY=VALUE"):
        parse_env_vars("nope")


def test_form_errors_are_escaped(tmp_path) -> None:
    backend = select_backend(None, "local", state_dir=str(tmp_path))
    widget = JobsWidget(backend, autostart=False, working_dir_roots=[str(tmp_path)])
    try:
        assert widget.working_dir.value == os.getcwd()
        assert widget.threads == []
        widget.submit_button.click()
        assert "entrypoint is required" in widget.error_line.value
        widget.entrypoint.value = "true"
        widget.env_vars.value = "NOEQUALS"
        widget.submit_button.click()
        assert "not KEY=VALUE" in widget.error_line.value
        widget.env_vars.value = ""
        widget.working_dir.value = str(tmp_path)
        widget.memory_gib.value = -1.0
        widget.submit_button.click()
        assert "entrypoint_memory" in widget.error_line.value
        widget.memory_gib.value = 0.0
        widget.pip.value = "numpy"
        widget.submit_button.click()  # pip is Ray's to install: the local backend says so
        assert "not supported by the local backend" in widget.error_line.value
        widget.pip.value = ""
        widget.working_dir.value = "/nowhere/" + XSS
        widget.submit_button.click()
        assert "outside the directories" in widget.error_line.value
        assert XSS_ESCAPED in widget.error_line.value and "<img" not in widget.error_line.value
        widget.stop_button.click()
        assert "Select a job first" in widget.error_line.value and widget.armed is None
    finally:
        widget.close()
        backend.close()


# -- the real head -----------------------------------------------------------------------------


@pytest.fixture
def live(ray_head, tmp_path) -> Iterator[JobsWidget]:
    conn = RayConnection()
    backend = select_backend(conn, "local", state_dir=str(tmp_path / "state"))
    (tmp_path / "work").mkdir()
    widget = JobsWidget(backend, refresh_interval_s=0.3, working_dir_roots=[str(tmp_path)])
    widget.working_dir.value = str(tmp_path / "work")
    yield widget
    widget.close()
    backend.close()
    conn.close()


def _status(widget: JobsWidget, sid: str) -> str:
    return widget.backend.get(sid).status


@pytest.mark.ray
def test_submit_follow_stop_delete_close(live: JobsWidget) -> None:
    widget = live
    assert widget.threads and widget.threads[0].name == THREAD_NAME  # the kernel's one refresher
    widget.entrypoint.value = (
        "python -c \"import os,time; print('\\x1b[32m<b>not bold</b>\\x1b[0m', os.environ['GREET'],"
        ' flush=True); time.sleep(30)"'
    )
    widget.env_vars.value = "GREET=hello"
    widget.num_cpus.value = 1.0
    sid = widget.submit()
    assert sid and widget.job_select.value == sid, widget.error_line.value
    assert f"Submitted {sid}" in widget.notice_line.value
    wait_until(lambda: sid in widget.table.value)
    # The log view follows the running job: escaped text, colour kept.
    wait_until(lambda: "not bold" in widget.log_view.value)
    assert (
        "&lt;b&gt;not bold&lt;/b&gt;" in widget.log_view.value
        and "<b>" not in widget.log_view.value
    )
    assert '<span style="color:#0dbc79">' in widget.log_view.value and "hello" in widget.log_text
    assert {t.name for t in widget.threads} == {THREAD_NAME, CALL_THREAD_NAME, "iog-jobs-log"}
    wait_until(lambda: _status(widget, sid) == "RUNNING")

    # Delete of a running job: two clicks, then the backend's conflict message.
    widget.delete_button.click()
    assert widget.armed == "delete" and widget.delete_button.description == "Confirm delete?"
    widget.delete_button.click()
    assert widget.armed is None and "stop it and wait" in widget.error_line.value

    # Stop needs two clicks; another action in between disarms.
    widget.stop_button.click()
    assert widget.armed == "stop" and widget.stop_button.description == "Confirm stop?"
    widget.status_filter.value = "RUNNING"
    assert widget.armed is None and widget.stop_button.description == "Stop"
    assert _status(widget, sid) == "RUNNING"
    wait_until(lambda: sid in widget.table.value)
    widget.stop_button.click()
    assert _status(widget, sid) == "RUNNING"
    widget.stop_button.click()
    assert f"Stopping {sid}" in widget.notice_line.value
    wait_until(lambda: _status(widget, sid) in ("STOPPED", "FAILED"), timeout_s=30)
    # The follower ends at eof; the filtered table drops the job.
    refresher = [THREAD_NAME, CALL_THREAD_NAME]
    wait_until(lambda: [t.name for t in widget.threads] == refresher, timeout_s=10)
    wait_until(lambda: sid not in widget.table.value)
    widget.status_filter.value = "all"
    wait_until(lambda: sid in widget.table.value)

    widget.delete_button.click()
    widget.delete_button.click()
    assert f"Deleted {sid}" in widget.notice_line.value and widget.job_select.value is None

    threads = widget.threads
    widget.job_select.value = None
    widget.close()
    assert not any(t.is_alive() for t in threads) and widget.threads == []


@pytest.mark.ray
def test_hostile_job_is_escaped_everywhere(live: JobsWidget) -> None:
    widget = live
    body = {"entrypoint": f"echo '{XSS}'", "metadata": {"note": XSS}}
    sid = widget.backend.submit(validate_submission(body, XSS, ["/tmp"], None))
    wait_until(lambda: sid in widget.table.value)
    for out in (widget.table.value, widget._repr_html_()):
        assert XSS_ESCAPED in out and "<img" not in out
    bundle = widget._repr_mimebundle_()
    assert bundle is not None and "<img" not in bundle["text/html"]
    widget.job_select.value = sid
    wait_until(lambda: XSS_ESCAPED in widget.log_view.value)
    assert "<img" not in widget.log_view.value
    # Pagination: one job per page walks to the previous job and back.
    widget.page_size = 1
    other = widget.backend.submit(validate_submission({"entrypoint": "true"}, "bob", [], None))
    widget.refresh()
    assert other in widget.table.value and not widget.next_button.disabled
    widget.next_button.click()
    assert sid in widget.table.value and not widget.prev_button.disabled
    widget.prev_button.click()
    assert other in widget.table.value
