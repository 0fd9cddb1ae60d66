"""Hostile text from jobs, logs, actors and sessions reaches the ipywidgets as text.

Each widget is built without a kernel and read through ``get_state()`` (what a frontend
receives), over the widget and all its children: no live markup, no link, no escape sequence;
the visible words stay, escaped. The pure HTML functions have their own tests
(``tests/test_widgets_*.py``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from iog_jupyter.core.actors.registry import ActorRegistry
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.jobs import select_backend, validate_submission
from iog_jupyter.widgets import ActorsWidget, JobsWidget, SessionsWidget
from iog_jupyter.widgets.sessions import RaySessions
from tests.fixtures import start_session_driver

from ..test_core_actors import run_driver

IMG = "<img src=x onerror=alert(1)>"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
SCRIPT = "<script>alert(2)</script>"
#: An OSC-8 hyperlink to a javascript: URL, as a terminal program would print it.
OSC8 = "\x1b]8;;javascript:alert(3)\x1b\\click me\x1b]8;;\x1b\\"
ANSI = "\x1b[31mred\x1b[0m"


def html_values(widget: Any) -> str:
    """The ``value`` in ``get_state()`` of every HTML widget under ``widget`` (what a frontend
    puts in the page as markup; other widgets, such as dropdown labels, are shown as text)."""
    values, stack = [], [widget]
    while stack:
        item = stack.pop()
        state = item.get_state()
        if state.get("_model_name") in ("HTMLModel", "HTMLMathModel"):
            values.append(state["value"])
        stack.extend(getattr(item, "children", ()))
    assert values
    return "\n".join(values)


def assert_inert(markup: str) -> None:
    """No hostile element, no link, no event handler in markup a frontend will render."""
    for raw in ("<img", "<script", "<a ", "href", "onerror=alert(1)>"):
        assert raw not in markup, raw


def wait_until(predicate: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_job_entrypoint_owner_metadata_and_log(tmp_path):
    """The local backend (no Ray): the job prints HTML, ANSI colours and an OSC-8 link."""
    backend = select_backend(None, "local", state_dir=str(tmp_path / "state"))
    widget = JobsWidget(backend, autostart=False, working_dir_roots=[str(tmp_path)])
    try:
        body = {
            # The payload comes from the environment, so the entrypoint shows only this markup.
            "entrypoint": f"python -c \"import os; print(os.environ['PAYLOAD'])\" '{IMG}'",
            "runtime_env": {"env_vars": {"PAYLOAD": f"{IMG} {SCRIPT} {OSC8} {ANSI}"}},
            "metadata": {"note": SCRIPT, "../../etc/passwd": IMG, "name": OSC8},
        }
        sid = backend.submit(validate_submission(body, f"<b>{IMG}</b>", [], None))
        wait_until(lambda: backend.get(sid).status in ("SUCCEEDED", "FAILED"))
        assert backend.get(sid).status == "SUCCEEDED"
        widget.refresh()
        widget.job_select.value = sid
        wait_until(lambda: "click me" in widget.log_text)
        markup = html_values(widget)
        assert_inert(markup)
        assert markup.count(IMG_ESCAPED) >= 3  # entrypoint, owner, log
        log = widget.log_view.get_state()["value"]
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in log
        # The OSC-8 link keeps its words and loses its target; no escape character is left.
        assert "click me" in log and "javascript:" not in log and "\x1b" not in log
        assert '<span style="color:#cd3131">red</span>' in log
        # The widget shows no metadata; its values do not leak in raw either.
        assert "etc/passwd" not in markup
    finally:
        widget.close()
        backend.close()


@pytest.mark.ray
def test_actor_and_session_names(ray_head):
    """A detached actor and a notebook session whose names carry markup and escapes."""
    ns = f"iotx-{uuid.uuid4().hex[:8]}"
    session = start_session_driver(
        ray_head, "x", JPY_SESSION_NAME=f"{IMG}{OSC8}.ipynb", JUPYTERHUB_USER=f"<b>{SCRIPT}</b>"
    )
    conn = RayConnection()
    registry = ActorRegistry(conn, ["serve"])
    actors = sessions = None
    try:
        # Actor names must be printable (iog refuses others); markup and a link's text are.
        run_driver(
            ray_head, [["plain", IMG, ns, {}], ["plain", f"[x](javascript:){SCRIPT}", ns, {}]]
        )
        job = session.stdout.readline().split()[1]
        actors = ActorsWidget(registry, namespace=ns, autostart=False)
        actors.refresh()
        assert len(actors.page.actors) == 2
        markup = html_values(actors)
        assert_inert(markup)
        assert IMG_ESCAPED in markup and "&lt;script&gt;" in markup
        sessions = SessionsWidget(RaySessions(), autostart=False)
        sessions.refresh()
        assert job in sessions.table.value, sessions.list_error
        markup = html_values(sessions)
        assert_inert(markup)
        assert IMG_ESCAPED in markup and "&lt;b&gt;&lt;script&gt;" in markup
    finally:
        for widget in (actors, sessions):
            if widget is not None:
                widget.close()
        if sessions is not None:
            sessions.source.close()
        session.kill()
        session.wait(timeout=30)
        for actor in registry.list(namespace=ns).actors:
            registry.kill(ns, actor.name)
        conn.close()
