"""The sidebar's usage view in a real Lab: empty on a fresh server, its window and grouping
pickers, the note behind its toggle, and a row for a session that held a GPU.

A Lab of its own (fresh usage store, fast sampling), on the session's Ray head; the GPU is held
by ``tests/drivers/gpu_holder.py`` (the usage accounting tests' driver).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from ..fixtures import REPO, ray_env
from .lab import UI_TIMEOUT_MS, expect, open_sidebar, screenshot, section

pytestmark = [pytest.mark.ui, pytest.mark.ray]

GPU_HOLDER = REPO / "tests" / "drivers" / "gpu_holder.py"
#: Seconds the driver holds its GPU (several samples at the interval below).
HOLD_S = 3
SAMPLE_INTERVAL_S = 0.5


@pytest.fixture(scope="module")
def usage_lab(lab_factory):
    """A Lab whose usage store starts empty and samples every half second."""
    return lab_factory(usage_sample_interval_s=SAMPLE_INTERVAL_S)


@pytest.fixture
def lab(usage_lab):
    return usage_lab


def test_usage_view_starts_empty_and_offers_its_choices(page):
    open_sidebar(page)
    usage = section(page, "Usage")
    expect(usage.get_by_role("heading", name="Usage")).to_be_visible(timeout=UI_TIMEOUT_MS)
    window = usage.get_by_label("Window", exact=True)
    group = usage.get_by_label("Group by", exact=True)
    expect(window).to_have_value("24h")
    expect(group).to_have_value("user")
    empty = usage.locator(".iog-SidebarSection-empty")
    expect(empty).to_have_text("Nothing held in the last 24 h.", timeout=UI_TIMEOUT_MS)
    expect(usage.locator(".iog-SidebarSection-error")).to_be_hidden()
    window.select_option("1h")
    expect(empty).to_have_text("Nothing held in the last 1 h.")

    note = usage.locator(".iog-UsageSection-note")
    expect(note).to_be_hidden()
    toggle = usage.get_by_role("button", name="How usage is measured")
    toggle.click()
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"Samples every {SAMPLE_INTERVAL_S} s")
    expect(toggle).to_have_attribute("aria-expanded", "true")


def test_usage_view_shows_a_session_that_held_a_gpu(page, lab, ray_head):
    proc = subprocess.Popen(
        [sys.executable, str(GPU_HOLDER), str(HOLD_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=ray_env(ray_head),
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("HELD "), f"the GPU holder did not start: {line!r}"
        job_id = line.split()[2]
        assert proc.stdout.readline().startswith("FREED ")
        # The server billed it (the API the view reads), within a few intervals.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = lab.api("GET", "usage?since=1h&group_by=session")["rows"]
            row = next((r for r in rows if r["key"] == job_id and r["gpu_seconds"] > 0), None)
            if row:
                break
            time.sleep(SAMPLE_INTERVAL_S)
        assert row, f"GET usage has no GPU row for {job_id}: {rows}"

        open_sidebar(page)
        usage = section(page, "Usage")
        usage.get_by_label("Window", exact=True).select_option("1h")
        usage.get_by_label("Group by", exact=True).select_option("session")
        tr = usage.locator(f'tr.iog-UsageSection-row[data-usage-key="{job_id}"]')
        expect(tr).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(tr.locator("td.iog-UsageSection-label")).to_have_text(row["label"] or job_id)
        expect(tr.locator("td.iog-UsageSection-summary")).to_have_text(
            re.compile(r"^held 1 GPU for ")
        )
        expect(tr).to_have_class(re.compile(r"(^|\s)iog-mod-gpu(\s|$)"))
        # At the default width: the name on its own line, wide enough not to break mid-word.
        label_px = tr.locator("td.iog-UsageSection-label").evaluate("c => c.clientWidth")
        assert label_px >= 150, label_px
        expect(tr).to_have_attribute("title", re.compile(rf"{re.escape(job_id)}[\s\S]*first seen "))
        expect(usage.locator(".iog-SidebarSection-empty")).to_be_hidden()
        screenshot(usage, "sidebar-usage")
    finally:
        proc.kill()
        proc.wait(timeout=30)
