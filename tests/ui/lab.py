"""Driving JupyterLab in Chromium: Playwright imports, selectors of the UI contract, screenshots.

Importing this module skips the importing test module when ``IOG_SKIP_UI=1``, and fails with a
clear message when Playwright is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

if os.environ.get("IOG_SKIP_UI") == "1":
    pytest.skip("IOG_SKIP_UI=1: browser tests skipped", allow_module_level=True)

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "The browser tests need Playwright: pip install -e '.[test]' with "
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 (scripts/test.sh does), or set IOG_SKIP_UI=1."
    ) from err

__all__ = ["Locator", "Page", "expect"]

REPO = Path(__file__).resolve().parents[2]
#: Where screenshots go: ``build/screenshots`` (ignored by git) unless ``IOG_SCREENSHOTS`` names a
#: folder; ``IOG_SCREENSHOTS=docs/screenshots`` refreshes the README's.
SCREENSHOTS = REPO / os.environ.get("IOG_SCREENSHOTS", "build/screenshots")

#: Waits: generous, bounded (a 2-core CI machine runs Ray, Jupyter and Chromium at once).
UI_TIMEOUT_MS = 30_000
JOB_TIMEOUT_MS = 60_000
RAY_RESTART_TIMEOUT_MS = 120_000
#: ``expect``'s wait when a call names none (Playwright's default is 5 s).
expect.set_options(timeout=10_000)

SIDEBAR_TAB = '.jp-SideBar li[data-id="iog-sidebar"]'
SIDEBAR = "#iog-sidebar"
BANNER = ".iog-ConnectionBanner"


def screenshot(target: Page | Locator, name: str) -> Path:
    """Save a PNG of a page or an element as ``<name>.png`` under :data:`SCREENSHOTS`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target.screenshot(path=str(path), animations="disabled")
    return path


def format_count(value: float) -> str:
    """CPU/GPU as the sidebar shows them: at most 1 decimal, no trailing ``.0`` (``2``, ``0.5``)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def open_sidebar(page: Page) -> Locator:
    """Open the Ray sidebar from its tab in the left side bar; returns the sidebar."""
    sidebar = page.locator(SIDEBAR)
    if not sidebar.is_visible():
        page.locator(SIDEBAR_TAB).click()
    expect(sidebar).to_be_visible(timeout=UI_TIMEOUT_MS)
    return sidebar


def section(page: Page, name: str) -> Locator:
    """One sidebar section by its accessible name (``Cluster``, ``Jobs``, ...)."""
    return page.locator(f'{SIDEBAR} section.iog-SidebarSection[aria-label="{name}"]')


def cluster_cell(page: Page, resource: str, column: str = "total") -> Locator:
    """A cell of the Cluster section's resource table (``column``: used, free or total)."""
    return section(page, "Cluster").locator(
        f'table.iog-ClusterSection-resources tr[data-resource="{resource}"] '
        f"td.iog-ClusterSection-{column}"
    )


def job_row(page: Page, submission_id: str) -> Locator:
    """The Jobs section's row of one job."""
    return section(page, "Jobs").locator(
        f'tr.iog-JobsSection-row[data-submission-id="{submission_id}"]'
    )


def log_panel(page: Page, submission_id: str) -> Locator:
    """The log panel of one job (the main-area widget's content)."""
    return page.locator(f'[id="iog-job-log-{submission_id}"] .iog-JobLogPanel')


def dialog(page: Page) -> Locator:
    """The JupyterLab dialog on top (there is at most one)."""
    return page.locator(".jp-Dialog").last


def confirm(page: Page, accept_label: str) -> None:
    """Accept the open confirmation dialog with the button named ``accept_label``."""
    box = dialog(page)
    expect(box).to_be_visible(timeout=UI_TIMEOUT_MS)
    box.get_by_role("button", name=accept_label, exact=True).click()
    expect(box).to_be_hidden(timeout=UI_TIMEOUT_MS)


def status_class(status: str) -> re.Pattern[str]:
    """The modifier class a status cell carries (``iog-mod-stopped``)."""
    return re.compile(rf"(^|\s)iog-mod-{status.lower()}(\s|$)")
