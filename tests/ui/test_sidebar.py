"""The Ray sidebar in a real Lab: cluster totals, submitting and stopping a job, escaped text.

Written against the DOM contract of the frontend (sections by accessible name, rows by
``data-*`` attributes, buttons by their aria-labels).
"""

from __future__ import annotations

import re
import shlex
import uuid

import pytest
import requests

from .lab import (
    JOB_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    cluster_cell,
    confirm,
    dialog,
    expect,
    format_count,
    job_row,
    log_panel,
    open_sidebar,
    screenshot,
    section,
    status_class,
)

pytestmark = [pytest.mark.ui, pytest.mark.ray]

XSS_NAME = '<img src=x onerror="window.__iog_xss=1">'
XSS_LINES = (
    "<script>window.__iog_xss=2</script>",
    "<img src=x onerror=window.__iog_xss=3>",
)
#: Printed with an OSC-8 hyperlink around it (the link target must never become an <a>).
OSC8_TEXT = "iog-osc8-click"
RED_TEXT = "iog-red-line"
DONE_MARKER = "iog-xss-done"


def new_id(prefix: str) -> str:
    """A fresh submission id (the Lab and the Ray head are shared by the run)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def final_status(word: str) -> re.Pattern[str]:
    """The log panel's status once the job ended: Ray's word first, details may follow."""
    return re.compile(rf"^{word}\b")


def stop_quietly(lab, submission_id: str) -> None:
    """Stop a job a failed test left running (its runner would outlive the Lab)."""
    try:
        if lab.api("GET", f"jobs/{submission_id}")["status"] in ("PENDING", "RUNNING"):
            lab.api("POST", f"jobs/{submission_id}/stop")
    except (AssertionError, requests.RequestException):
        pass  # never submitted, or the server is gone


def test_sidebar_cluster_total_matches_rest(page, lab):
    open_sidebar(page)
    for name in ("Cluster", "Jobs", "Sessions", "Actors"):
        expect(section(page, name).get_by_role("heading", name=name)).to_be_visible(
            timeout=UI_TIMEOUT_MS
        )

    snapshot = lab.api("GET", "cluster")
    totals = snapshot["totals"]
    expect(cluster_cell(page, "CPU")).to_have_text(
        format_count(totals["CPU"]), timeout=UI_TIMEOUT_MS
    )
    expect(cluster_cell(page, "memory")).to_have_text(f"{totals['memory'] / 2**30:.1f}")
    cluster = section(page, "Cluster")
    expect(cluster.locator("span.iog-ClusterSection-nodes")).to_have_text(
        re.compile(r"^\d+ nodes?$")
    )
    for pool in snapshot["pools"]:
        item = cluster.locator(f'ul.iog-ClusterSection-pools > li[data-pool="{pool["name"]}"]')
        expect(item).to_have_count(1)
    screenshot(page, "sidebar")


def test_submit_follow_and_stop_job(page, lab, page_errors):
    submission_id = new_id("ui")
    marker = f"iog-ui-hello-{submission_id}"
    code = f"import time;print('{marker}',flush=True);time.sleep(60)"
    entrypoint = f'python -c "{code}"'
    open_sidebar(page)
    try:
        section(page, "Jobs").get_by_role("button", name="Submit job", exact=True).click()
        box = dialog(page)
        expect(box).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(box).to_contain_text("Submit a Ray job")
        box.get_by_label("Entrypoint", exact=True).fill(entrypoint)
        box.get_by_label("Submission ID", exact=True).fill(submission_id)
        box.get_by_label("Job name", exact=True).fill("ui hello")
        box.get_by_role("button", name="Submit", exact=True).click()
        expect(box).to_be_hidden(timeout=UI_TIMEOUT_MS)

        # On success the new job's log panel opens and follows the log.
        panel = log_panel(page, submission_id)
        expect(panel).to_be_visible(timeout=UI_TIMEOUT_MS)
        line = panel.locator(".iog-JobLogPanel-line", has_text=marker)
        expect(line).to_be_visible(timeout=JOB_TIMEOUT_MS)
        status = panel.locator('.iog-JobLogPanel-status[role="status"]')
        expect(status).to_have_text("Following…", timeout=UI_TIMEOUT_MS)
        row = job_row(page, submission_id)
        expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(row.locator(".iog-JobsSection-jobName")).to_have_text("ui hello")
        expect(row.locator("td.iog-JobsSection-status")).to_have_text(
            "RUNNING", timeout=JOB_TIMEOUT_MS
        )
        screenshot(page, "log-panel")

        row.get_by_role("button", name=f"Stop {submission_id}", exact=True).click()
        confirm(page, "Stop job")
        cell = row.locator("td.iog-JobsSection-status")
        expect(cell).to_have_text("STOPPED", timeout=JOB_TIMEOUT_MS)
        expect(cell).to_have_class(status_class("STOPPED"))
        expect(status).to_have_text(final_status("STOPPED"), timeout=JOB_TIMEOUT_MS)
        # A terminal job offers delete, not stop.
        expect(row.get_by_role("button", name=f"Stop {submission_id}")).to_have_count(0)
        expect(row.get_by_role("button", name=f"Delete {submission_id}")).to_have_count(1)
        assert lab.api("GET", f"jobs/{submission_id}")["status"] == "STOPPED"
    finally:
        stop_quietly(lab, submission_id)
    assert not page_errors["console"], page_errors["console"]


def test_untrusted_job_text_is_shown_as_text(page, lab):
    submission_id = new_id("xss")
    # The job prints markup, an OSC-8 hyperlink to javascript: and an ANSI-red line, then ends.
    code = ";".join(
        [
            "import sys",
            "E=chr(27);B=chr(92)",
            *(f"print({text!r})" for text in XSS_LINES),
            f"print(E+']8;;javascript:window.__iog_xss=4'+E+B+{OSC8_TEXT!r}+E+']8;;'+E+B)",
            f"print(E+'[31m'+{RED_TEXT!r}+E+'[0m')",
            f"print({DONE_MARKER!r},flush=True)",
        ]
    )
    body = {
        "entrypoint": f"python -c {shlex.quote(code)}",
        "submission_id": submission_id,
        "metadata": {"name": XSS_NAME},
    }
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    assert lab.api("POST", "jobs", body)["submission_id"] == submission_id

    open_sidebar(page)
    row = job_row(page, submission_id)
    expect(row).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(row.locator("td.iog-JobsSection-name")).to_contain_text(XSS_NAME)
    row.get_by_role("button", name=f"Show logs of {submission_id}", exact=True).click()

    panel = log_panel(page, submission_id)
    expect(panel).to_be_visible(timeout=UI_TIMEOUT_MS)
    lines = panel.locator(".iog-JobLogPanel-lines")
    line = lines.locator(".iog-JobLogPanel-line")
    expect(line.filter(has_text=DONE_MARKER)).to_have_count(1, timeout=JOB_TIMEOUT_MS)
    for text in XSS_LINES:
        expect(lines.get_by_text(text, exact=True)).to_be_visible()
    # OSC-8: the link text only; its target is neither a link nor shown.
    expect(line.filter(has_text=OSC8_TEXT)).to_have_text(OSC8_TEXT)
    expect(lines).not_to_contain_text("javascript:")
    # ANSI SGR 31 becomes a coloured span, not raw escape codes.
    expect(lines.locator("span[class*='iog-ansi-fg-']", has_text=RED_TEXT)).to_have_count(1)
    expect(line.filter(has_text=RED_TEXT)).to_have_text(RED_TEXT)
    expect(panel.locator(".iog-JobLogPanel-status")).to_have_text(
        final_status("SUCCEEDED"), timeout=JOB_TIMEOUT_MS
    )

    jobs_table = section(page, "Jobs").locator("table")
    for container in (panel, jobs_table):
        expect(container.locator("img, script, a, iframe, object, embed")).to_have_count(0)
    assert page.evaluate("() => typeof window.__iog_xss") == "undefined"
    # An injected <img src=x> would have been fetched at once.
    assert not [url for url in requested if re.search(r"/x($|\?)", url)], requested
