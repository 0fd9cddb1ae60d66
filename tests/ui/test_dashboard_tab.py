"""The `iog:open-dashboard` command, run from the command palette, opens the Ray dashboard tab."""

from __future__ import annotations

import pytest

from .lab import UI_TIMEOUT_MS, expect

pytestmark = [pytest.mark.ui, pytest.mark.ray]

DASHBOARD_PATH = "iog/dashboard/"


def first_url(request) -> str:
    """The URL a redirect chain started from, without its query."""
    while request.redirected_from is not None:
        request = request.redirected_from
    return request.url.split("?", 1)[0]


def test_dashboard_opens_from_command_palette(page, lab):
    with page.expect_response(
        lambda response: (
            response.status == 200 and first_url(response.request) == lab.url + DASHBOARD_PATH
        ),
        timeout=UI_TIMEOUT_MS,
    ) as loaded:
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette:visible")
        expect(palette).to_be_visible(timeout=UI_TIMEOUT_MS)
        palette.locator("input.lm-CommandPalette-input").fill("Ray Dashboard")
        palette.locator('li[data-command="iog:open-dashboard"]').click()

    tab = page.locator('[id="iog-dashboard"]')
    expect(tab).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_role("tab", name="Ray Dashboard")).to_be_visible()
    frame = tab.locator(".iog-DashboardPanel iframe")
    expect(frame).to_have_count(1)
    assert frame.get_attribute("src").endswith(DASHBOARD_PATH)
    assert frame.get_attribute("sandbox") is not None
    # The dashboard page came through Jupyter's authenticated proxy, not from Ray's own port.
    assert loaded.value.url.startswith(lab.url + DASHBOARD_PATH)
    assert "text/html" in loaded.value.headers.get("content-type", "")
