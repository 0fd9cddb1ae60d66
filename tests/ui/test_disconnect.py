"""The sidebar follows a Ray head that stops and comes back, without reloading the page."""

from __future__ import annotations

import pytest

from iog_jupyter.core.local_head import start_head, stop_head

from ..fixtures import head_traits
from .lab import (
    BANNER,
    RAY_RESTART_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    cluster_cell,
    expect,
    open_sidebar,
)

pytestmark = [pytest.mark.ui, pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(lab_factory, restartable_head):
    """A Lab of this module's own, pointed at the restartable head through traits."""
    return lab_factory(**head_traits(restartable_head))


def test_banner_follows_head_stop_and_restart(page, restartable_head):
    head = restartable_head
    sidebar = open_sidebar(page)
    banner = sidebar.locator(BANNER)
    expect(banner).to_have_attribute("data-state", "connected", timeout=UI_TIMEOUT_MS)
    expect(banner).to_have_attribute("role", "status")
    cpu_total = cluster_cell(page, "CPU")
    expect(cpu_total).to_have_text("1", timeout=UI_TIMEOUT_MS)
    page.evaluate("() => { window.__iog_same_page = true; }")

    stop_head(head.temp_dir)
    expect(banner).to_have_attribute("data-state", "disconnected", timeout=UI_TIMEOUT_MS)
    expect(banner).to_contain_text("Disconnected")
    expect(banner).to_contain_text(head.address)  # the server's message names the head

    start_head(head.temp_dir, head.token_path, head.gcs_port, head.dashboard_port, 1)
    expect(banner).to_have_attribute("data-state", "connected", timeout=RAY_RESTART_TIMEOUT_MS)
    expect(banner).not_to_contain_text("Disconnected")
    expect(cpu_total).to_have_text("1", timeout=UI_TIMEOUT_MS)
    assert page.evaluate("() => window.__iog_same_page") is True, "the page was reloaded"
