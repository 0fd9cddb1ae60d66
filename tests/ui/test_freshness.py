"""The sidebar is never stale: rows follow the server within one refresh interval + 1 s.

The page records (in the browser, with a MutationObserver) when each row first shows its end
status; the test polls the server meanwhile and records when the server first said so. Both
clocks are this machine's.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest

from ..fixtures import session_driver
from .conftest import LAB_SETTINGS
from .lab import UI_TIMEOUT_MS, expect, open_sidebar, section

pytestmark = [pytest.mark.ui, pytest.mark.ray]

JOBS = 20
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
#: The Lab's refresh interval (LAB_SETTINGS) + 1 s: the issue's bound.
BOUND_S = LAB_SETTINGS["iog-jupyter/plugin"]["refreshIntervalMs"] / 1000 + 1.0

RECORD_ENDS = """
() => {
  window.__iogEnded = {};
  const terminal = ['SUCCEEDED', 'FAILED', 'STOPPED'];
  const scan = () => {
    for (const row of document.querySelectorAll('tr.iog-JobsSection-row')) {
      const id = row.dataset.submissionId;
      const cell = row.querySelector('.iog-JobsSection-status');
      const text = cell ? cell.textContent.trim() : '';
      if (id && !(id in window.__iogEnded) && terminal.includes(text)) {
        window.__iogEnded[id] = Date.now();
      }
    }
  };
  new MutationObserver(scan).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true
  });
  scan();
}
"""


def test_twenty_short_jobs_reach_their_end_status_within_one_interval(page, lab):
    open_sidebar(page)
    expect(section(page, "Jobs")).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.evaluate(RECORD_ENDS)
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(JOBS):
        submission_id = f"fresh-{tag}-{i:02d}"
        # Durations spread over ~2 s so that ends arrive one by one, not in one batch.
        lab.api(
            "POST",
            "jobs",
            {"submission_id": submission_id, "entrypoint": f"sleep {0.2 + 0.1 * i:.1f}"},
        )
        ids.append(submission_id)

    server_ended: dict[str, float] = {}
    deadline = time.time() + 120
    while len(server_ended) < JOBS and time.time() < deadline:
        listed = lab.api("GET", "jobs?limit=50")["jobs"]
        now = time.time()
        for job in listed:
            if job["submission_id"] in ids and job["status"] in TERMINAL:
                server_ended.setdefault(job["submission_id"], now)
        time.sleep(0.05)
    assert len(server_ended) == JOBS, f"the server ended only {len(server_ended)} of {JOBS}"

    # Give the sidebar its bound after the last end, then read what the page recorded.
    page.wait_for_timeout(int(BOUND_S * 1000) + 500)
    shown = page.evaluate("window.__iogEnded")
    late = {
        job: round(shown[job] / 1000 - server_ended[job], 2)
        for job in ids
        if job not in shown or shown[job] / 1000 - server_ended[job] > BOUND_S
    } | {job: None for job in ids if job not in shown}
    assert late == {}, f"rows later than {BOUND_S:g} s (None: never shown ended): {late}"


RECORD_ROWS = """
() => {
  window.__iogRows = {};
  const seen = new Set();
  const scan = () => {
    const now = Date.now();
    const present = new Set();
    for (const row of document.querySelectorAll(
      'tr.iog-SessionsSection-row, tr.iog-ActorsSection-row'
    )) {
      const key = row.dataset.sessionId ? 'session:' + row.dataset.sessionId
        : 'actor:' + row.dataset.actor;
      present.add(key);
      if (!seen.has(key)) {
        seen.add(key);
        window.__iogRows[key] = { added: now, removed: null };
      }
    }
    for (const key of seen) {
      const entry = window.__iogRows[key];
      if (!present.has(key) && entry.removed === null) {
        entry.removed = now;
      }
    }
  };
  new MutationObserver(scan).observe(document.body, { subtree: true, childList: true });
  scan();
}
"""


def _when_server(lab, path: str, predicate, deadline_s: float = 90) -> float:
    """Poll REST until ``predicate(answer)`` holds; the time the server first said so."""
    end = time.time() + deadline_s
    while time.time() < end:
        answer = lab.api("GET", path)
        now = time.time()
        if predicate(answer):
            return now
        time.sleep(0.05)
    raise AssertionError(f"GET {path} never reached the expected state")


def test_sessions_and_actors_appear_and_go_within_one_interval(page, lab, ray_head):
    open_sidebar(page)
    for name in ("Sessions", "Actors"):
        expect(section(page, name)).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.evaluate(RECORD_ROWS)
    tag = uuid.uuid4().hex[:8]
    actor = f"sessions-test/keep-{tag}"
    server: dict[str, float] = {}
    with session_driver(ray_head, tag, "--detached") as (_, job_id):
        session = f"session:{job_id}"
        server["session added"] = _when_server(
            lab, "sessions", lambda a: any(s["session_id"] == job_id for s in a["sessions"])
        )
        server["actor added"] = _when_server(
            lab,
            "actors?detached=true&limit=500",
            lambda a: any(f"{x['namespace']}/{x['name']}" == actor for x in a["actors"]),
        )
        # Each change is timed on its own: let the row show (or its bound pass) before the kill.
        page.wait_for_function(
            f"() => window.__iogRows[{'actor:' + actor!r}] !== undefined",
            timeout=int(BOUND_S * 1000) + 2000,
        )
        lab.api("DELETE", f"actors/sessions-test/{quote(f'keep-{tag}')}")
        server["actor removed"] = _when_server(
            lab,
            "actors?detached=true&limit=500",
            lambda a: all(f"{x['namespace']}/{x['name']}" != actor for x in a["actors"]),
        )
    server["session removed"] = _when_server(
        lab, "sessions", lambda a: all(s["session_id"] != job_id for s in a["sessions"])
    )
    page.wait_for_timeout(int(BOUND_S * 1000) + 500)
    rows = page.evaluate("window.__iogRows")
    shown = {
        "session added": (rows.get(session) or {}).get("added"),
        "session removed": (rows.get(session) or {}).get("removed"),
        "actor added": (rows.get(f"actor:{actor}") or {}).get("added"),
        "actor removed": (rows.get(f"actor:{actor}") or {}).get("removed"),
    }
    late = {
        what: None if shown[what] is None else round(shown[what] / 1000 - when, 2)
        for what, when in server.items()
        if shown[what] is None or shown[what] / 1000 - when > BOUND_S
    }
    assert late == {}, f"later than {BOUND_S:g} s (None: never seen): {late}; rows {rows}"
