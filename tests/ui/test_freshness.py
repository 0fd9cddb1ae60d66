"""The sidebar is never stale: job rows follow the server within one refresh interval + 1 s.

The page records (in the browser, with a MutationObserver) when each row first shows its end
status; the test polls the server meanwhile and records when the server first said so. Both
clocks are this machine's.
"""

from __future__ import annotations

import time
import uuid

import pytest

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
