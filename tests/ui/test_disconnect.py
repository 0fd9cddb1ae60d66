"""The sidebar follows a Ray head that is killed and comes back, without reloading the page.

Disconnected shows within the refresh interval + 1 s of the kill (sidebar banner and status
bar), and Connected within interval + 5 s of the head being back on its ports.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from iog_jupyter.core.local_head import processes_under, start_head, stop_head

from ..fixtures import head_traits
from .conftest import LAB_SETTINGS
from .lab import (
    BANNER,
    UI_TIMEOUT_MS,
    cluster_cell,
    expect,
    open_sidebar,
)

pytestmark = [pytest.mark.ui, pytest.mark.ray, pytest.mark.slow]

INTERVAL_S = LAB_SETTINGS["iog-jupyter/plugin"]["refreshIntervalMs"] / 1000


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

    status_item = page.locator(".iog-StatusItem")
    for pid in processes_under(head.temp_dir):  # SIGKILL the whole head at once
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    killed = time.monotonic()
    expect(banner).to_have_attribute(
        "data-state", "disconnected", timeout=int((INTERVAL_S + 1) * 1000)
    )
    expect(status_item).to_have_class(
        re.compile(r"iog-mod-disconnected"),
        timeout=max(0, int((INTERVAL_S + 1 - (time.monotonic() - killed)) * 1000)) + 1,
    )
    expect(banner).to_contain_text("Disconnected")
    expect(banner).to_contain_text(head.address)  # the server's message names the head

    stop_head(head.temp_dir, grace_s=1)  # reap what the kill left, freeing the ports
    start_head(head.temp_dir, head.token_path, head.gcs_port, head.dashboard_port, 1)
    expect(banner).to_have_attribute(
        "data-state", "connected", timeout=int((INTERVAL_S + 5) * 1000)
    )
    expect(status_item).not_to_have_class(re.compile(r"iog-mod-disconnected"))
    expect(banner).not_to_contain_text("Disconnected")
    expect(cpu_total).to_have_text("1", timeout=UI_TIMEOUT_MS)
    assert page.evaluate("() => window.__iog_same_page") is True, "the page was reloaded"
