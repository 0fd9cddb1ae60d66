"""JupyterLab loads with our labextension: the status bar item shows the cluster, no errors."""

from __future__ import annotations

import pytest

from .lab import UI_TIMEOUT_MS, expect

pytestmark = [pytest.mark.ui, pytest.mark.ray]


def test_smoke_lab_loads_with_status_item(page, page_errors):
    item = page.locator(".iog-StatusItem")
    expect(item).to_be_visible(timeout=UI_TIMEOUT_MS)
    label = item.locator(".iog-StatusItem-label")
    # The placeholder is replaced by the first snapshot; a live head is never "disconnected".
    expect(label).not_to_have_text("Ray: …", timeout=UI_TIMEOUT_MS)
    expect(label).not_to_contain_text("disconnected")
    assert label.inner_text().strip(), "the status item is empty"
    assert not page_errors["console"], page_errors["console"]
