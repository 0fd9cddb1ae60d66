"""Job-end notifications in a real Lab: a toast names the job and how it ended, "Open log" works.

Jobs are submitted through REST with the Lab's token, so the server records the same owner as
it tells the page (``status.user``): they are the user's own jobs. The page must see each job
running first (a job that had ended when first seen is no news), so the sidebar row is awaited.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from .lab import (
    JOB_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    dialog,
    expect,
    job_row,
    log_panel,
    open_sidebar,
    section,
    status_class,
)
from .test_sidebar import stop_quietly

pytestmark = [pytest.mark.ui, pytest.mark.ray]

TOAST = ".Toastify__toast"
SETTINGS_PATH = "lab/api/settings/iog-jupyter:plugin"


def submit(lab, code: str) -> tuple[str, str]:
    """Submit a Python one-liner (after a short sleep, so the page sees it run); (id, name)."""
    sid = f"notify-{uuid.uuid4().hex[:10]}"
    name = f"<i>{sid}</i>"  # a name with markup: it must show as text
    entrypoint = f"python -c 'import time; time.sleep(4); {code}'"
    body = {"entrypoint": entrypoint, "submission_id": sid, "metadata": {"name": name}}
    assert lab.api("POST", "jobs", body)["submission_id"] == sid
    return sid, name


def seen_running(page, sid: str) -> None:
    """Wait until the sidebar (hence the page's jobs model) shows the job not ended."""
    open_sidebar(page)
    expect(job_row(page, sid).locator(".iog-JobsSection-status")).to_have_class(
        re.compile(r"iog-mod-(pending|running)"), timeout=JOB_TIMEOUT_MS
    )


def toast(page, name: str):
    """The toast whose message names the job."""
    return page.locator(TOAST).filter(has_text=f'Job "{name}"')


@pytest.fixture
def notify_setting(lab) -> Iterator:
    """Set ``notifyOnJobEnd`` in the Lab's user settings; restores the settings after."""

    def put(raw: dict) -> None:
        reply = requests.put(
            f"{lab.url}{SETTINGS_PATH}",
            headers=lab.headers,
            data=json.dumps({"raw": json.dumps(raw)}),
            timeout=30,
        )
        assert reply.status_code == 204, reply.text[:300]

    before = requests.get(f"{lab.url}{SETTINGS_PATH}", headers=lab.headers, timeout=30).json()
    yield lambda enabled: put({**json.loads(before["raw"] or "{}"), "notifyOnJobEnd": enabled})
    put(json.loads(before["raw"] or "{}"))


def test_a_succeeded_job_is_told_and_open_log_opens_its_log(page, lab):
    sid, name = submit(lab, "print(42)")
    try:
        seen_running(page, sid)
        told = toast(page, name)
        expect(told).to_be_visible(timeout=JOB_TIMEOUT_MS)
        expect(told.locator(".jp-toast-message")).to_have_text(
            re.compile(rf'^Job "{re.escape(name)}" SUCCEEDED after \d+s$')
        )
        expect(told).to_have_class(re.compile("success"))
        assert page.locator(f"{TOAST} i").count() == 0  # the name's markup stayed text
        told.get_by_role("button", name="Open log").click()
        expect(log_panel(page, sid)).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(log_panel(page, sid)).to_contain_text("42", timeout=UI_TIMEOUT_MS)
        page.wait_for_timeout(3000)  # the watcher polls on: still one toast for the ending
        assert toast(page, name).count() == 0  # "Open log" closed it; none came again
    finally:
        stop_quietly(lab, sid)


def test_a_failed_job_is_an_error_toast(page, lab):
    sid, name = submit(lab, "raise SystemExit(3)")
    try:
        seen_running(page, sid)
        told = toast(page, name)
        expect(told).to_be_visible(timeout=JOB_TIMEOUT_MS)
        expect(told.locator(".jp-toast-message")).to_contain_text("FAILED")
        expect(told.locator(".jp-toast-message")).to_contain_text("(exit code 3)")
        expect(told).to_have_class(re.compile("error"))
        expect(told.get_by_role("button", name="Open log")).to_be_visible()
    finally:
        stop_quietly(lab, sid)


def test_no_toast_with_the_setting_off(page, lab, notify_setting):
    notify_setting(False)
    page.reload()
    page.locator("#jp-main-dock-panel").wait_for(state="visible", timeout=60_000)
    sid, name = submit(lab, "print(1)")
    try:
        seen_running(page, sid)
        expect(job_row(page, sid).locator(".iog-JobsSection-status")).to_have_class(
            status_class("SUCCEEDED"), timeout=JOB_TIMEOUT_MS
        )
        page.wait_for_timeout(3000)  # a toast would have come with the row's change
        assert toast(page, name).count() == 0  # now, not after a wait (toasts close by themselves)
    finally:
        stop_quietly(lab, sid)


def test_a_job_submitted_from_the_dialog_is_told_even_if_it_ended_while_the_lab_was_closed(
    page, lab
):
    sid = f"notify-{uuid.uuid4().hex[:10]}"
    name = f"dialog {sid}"
    open_sidebar(page)
    try:
        section(page, "Jobs").get_by_role("button", name="Submit job", exact=True).click()
        box = dialog(page)
        expect(box).to_be_visible(timeout=UI_TIMEOUT_MS)
        box.get_by_label("Entrypoint", exact=True).fill("python -c 'import time; time.sleep(3)'")
        box.get_by_label("Submission ID", exact=True).fill(sid)
        box.get_by_label("Job name", exact=True).fill(name)
        box.get_by_role("button", name="Submit", exact=True).click()
        expect(box).to_be_hidden(timeout=UI_TIMEOUT_MS)
        # The submit has come back (its log tab opens after the job is watched): only then may
        # the Lab close, as a person's would after seeing the job start.
        tab = page.locator(f'.lm-DockPanel-tabBar li[data-id="iog-job-log-{sid}"]')
        expect(tab).to_be_visible(timeout=UI_TIMEOUT_MS)
        lab_url = page.url
        page.goto("about:blank")  # the Lab is closed while the job runs and ends
        deadline = time.monotonic() + JOB_TIMEOUT_MS / 1000
        while lab.api("GET", f"jobs/{sid}")["status"] != "SUCCEEDED":
            assert time.monotonic() < deadline, "the job did not succeed"
            time.sleep(0.5)
        page.goto(lab_url)
        page.locator("#jp-main-dock-panel").wait_for(state="visible", timeout=60_000)
        # Ended before this page first saw it, yet told: it was watched since its submit.
        told = toast(page, name)
        expect(told).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(told.locator(".jp-toast-message")).to_contain_text("SUCCEEDED")
        page.wait_for_timeout(3000)
        assert toast(page, name).count() == 1  # once
    finally:
        stop_quietly(lab, sid)
