"""The sidebar fits: at JupyterLab's default width in a 1400×900 window, at 320 px and wide.

Names over ids (job and session names in full, log tabs named by the job), no header cut to a
word, rows as two-line cards when narrow, and a submit dialog that says why Submit is disabled.
What "fits" means is measured in the page: an element's text is cut when its scrollWidth exceeds
its clientWidth.
"""

from __future__ import annotations

import re
import uuid

import pytest

from ..fixtures import session_driver
from .lab import (
    JOB_TIMEOUT_MS,
    SIDEBAR,
    SIDEBAR_TAB,
    UI_TIMEOUT_MS,
    dialog,
    expect,
    job_row,
    open_sidebar,
    screenshot,
    section,
)
from .test_sidebar import stop_quietly

pytestmark = [pytest.mark.ui, pytest.mark.ray]

#: A short job name, cut to `nig…` by the old table at the default width.
NAME = "nightly-train"

#: The visible sidebar elements (matching `selector`) whose text is cut.
CUT = """(selector) => [...document.querySelectorAll(selector)]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth)
  .map(e => e.textContent)"""


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1400, "height": 900}


def sidebar_width(page) -> float:
    return page.locator(SIDEBAR).bounding_box()["width"]


def resize_sidebar(page, width: int) -> None:
    """Drag the handle between the left area and the main area until the sidebar is ``width``."""
    box = page.locator(SIDEBAR).bounding_box()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first.bounding_box()
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(handle["x"] + handle["width"] / 2 + width - box["width"], y, steps=5)
    page.mouse.up()
    page.wait_for_function(
        f"() => Math.abs(document.querySelector('{SIDEBAR}').offsetWidth - {width}) <= 2"
    )


def submit(lab, entrypoint: str, name: str | None = None) -> str:
    body: dict = {"entrypoint": entrypoint, "submission_id": f"fit-{uuid.uuid4().hex[:10]}"}
    if name:
        body["metadata"] = {"name": name}
    return lab.api("POST", "jobs", body)["submission_id"]


def assert_headers_fit(page) -> None:
    cut = page.evaluate(CUT, f"{SIDEBAR} th")
    assert cut == [], f"headers cut at {sidebar_width(page):.0f} px: {cut}"


def test_jobs_fit_and_say_names(page, lab):
    running = submit(lab, "python -c 'import time; time.sleep(120)'", NAME)
    echoes = [submit(lab, "echo hi"), submit(lab, "echo hi")]
    try:
        open_sidebar(page)
        assert sidebar_width(page) < 360, "the default width is expected narrow"
        row = job_row(page, running)
        expect(row.locator("td.iog-JobsSection-name")).to_contain_text(NAME, timeout=UI_TIMEOUT_MS)
        expect(row.locator("td.iog-JobsSection-status")).to_have_text(
            "RUNNING", timeout=JOB_TIMEOUT_MS
        )
        for width in (None, 320):
            if width:
                resize_sidebar(page, width)
            # A card: the name in full and the status on the first line, the rest below.
            cells = row.locator("td").evaluate_all(
                """cells => cells.map(c => ({cls: c.className, cut: c.scrollWidth > c.clientWidth,
                    width: c.clientWidth, top: c.getBoundingClientRect().top,
                    shown: c.offsetParent !== null}))"""
            )
            name, status, owner, start, actions = cells
            assert not name["cut"] and not status["cut"], cells
            assert name["width"] >= 120, cells
            assert name["top"] == status["top"] < start["top"], cells
            assert start["shown"] and owner["shown"], cells
            assert start["top"] == owner["top"] and abs(start["top"] - actions["top"]) <= 6, cells
            assert_headers_fit(page)

        # Two `echo hi` jobs without a name differ: each is named by its id.
        for sid in echoes:
            expect(job_row(page, sid).locator(".iog-JobsSection-jobName")).to_have_text(sid)
            expect(job_row(page, sid).locator("td.iog-JobsSection-start")).to_contain_text(
                " · ran ", timeout=JOB_TIMEOUT_MS
            )
        expect(row.locator("td.iog-JobsSection-start")).to_have_text(
            re.compile(r"^(just now|\d+ s ago)$")
        )
        screenshot(page, "sidebar-jobs")  # the README's: jobs as cards at 320 px

        # Wide: a table again, each header in full.
        for width in (420, 640):
            resize_sidebar(page, width)
            expect(section(page, "Jobs").locator("thead")).to_be_visible()
            assert_headers_fit(page)
            assert not row.locator("td.iog-JobsSection-name").evaluate(
                "c => c.scrollWidth > c.clientWidth"
            )

        # The log tab is named by the job, its id in the tooltip.
        row.get_by_role("button", name=f"Show logs of {running}", exact=True).click()
        tab = page.locator(f'.lm-DockPanel-tabBar li[data-id="iog-job-log-{running}"]')
        expect(tab.locator(".lm-TabBar-tabLabel")).to_have_text(f"Log: {NAME}")
        expect(tab).to_have_attribute("title", f"Live log of Ray job {NAME} ({running})")
    finally:
        stop_quietly(lab, running)


def test_sessions_show_labels_and_actor_counts(page, lab, ray_head):
    open_sidebar(page)
    with session_driver(ray_head, uuid.uuid4().hex[:8], "--actors", "1", "--detached") as (
        _,
        job_id,
    ):
        row = section(page, "Sessions").locator(
            f'tr.iog-SessionsSection-row[data-session-id="{job_id}"]'
        )
        expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
        record = next(
            s for s in lab.api("GET", "sessions")["sessions"] if s["session_id"] == job_id
        )
        expect(row.locator(".iog-SessionsSection-path")).to_have_text(record["label"])
        expect(row.locator("td.iog-SessionsSection-actors")).to_have_text(
            "1 actor · 1 detached", timeout=UI_TIMEOUT_MS
        )
        assert not row.locator(".iog-SessionsSection-path").evaluate(
            "p => p.closest('td').scrollWidth > p.closest('td').clientWidth"
        )
        for width in (420, 640):
            resize_sidebar(page, width)
            assert_headers_fit(page)


def test_submit_dialog_says_why_submit_is_disabled(page):
    open_sidebar(page)
    # The left bar's Ray tab says what it is: a visible label beside its icon, and a tooltip.
    expect(page.locator(SIDEBAR_TAB)).to_have_attribute("title", "Ray cluster")
    expect(page.locator(SIDEBAR_TAB).locator(".lm-TabBar-tabLabel")).to_have_text("Ray")
    expect(page.locator(SIDEBAR_TAB).locator(".lm-TabBar-tabLabel")).to_be_visible()
    section(page, "Jobs").get_by_role("button", name="Submit job", exact=True).click()
    box = dialog(page)
    submit_button = box.get_by_role("button", name="Submit", exact=True)
    hint = box.locator(".iog-SubmitJobDialog-hint")
    expect(submit_button).to_be_disabled(timeout=UI_TIMEOUT_MS)
    expect(hint).to_be_visible()
    expect(hint).to_have_text("Enter the command to run to enable Submit.")
    box.get_by_label("Entrypoint", exact=True).fill("echo hi")
    expect(submit_button).to_be_enabled()
    expect(hint).to_be_hidden()
    box.get_by_role("button", name="Cancel", exact=True).click()
    expect(box).to_be_hidden()


def test_usage_section_fits(page):
    """The usage section's pickers, toggle, headers and rows fit at the default width and 320 px."""
    open_sidebar(page)
    usage = section(page, "Usage")
    expect(usage.get_by_label("Window", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
    # Loaded: the empty-state line or rows (both wrap rather than overflow).
    expect(
        usage.locator(".iog-SidebarSection-empty:not([hidden]), tr.iog-UsageSection-row").first
    ).to_be_visible(timeout=UI_TIMEOUT_MS)
    for width in (None, 320):
        if width:
            resize_sidebar(page, width)
        assert_headers_fit(page)
        overflow = usage.evaluate(
            """s => [s, ...s.querySelectorAll('.iog-UsageSection-controls > *, td')]
                .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right >
                        s.getBoundingClientRect().right + 1)
                .map(e => e.className || e.tagName)"""
        )
        width_px = sidebar_width(page)
        assert overflow == [], f"usage section overflows at {width_px:.0f} px: {overflow}"
