"""Run a notebook as a Ray job from JupyterLab: the file browser's context menu, the dialog
prefilled from the cell tagged ``parameters``, the log tab, the executed copy next to the input;
and the notebook toolbar's button, which saves unsaved edits first and opens the same dialog.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from .lab import (
    JOB_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    Page,
    dialog,
    expect,
    log_panel,
    screenshot,
)
from .test_sidebar import stop_quietly

pytestmark = [pytest.mark.ui, pytest.mark.ray]

#: The parameters cell: what the dialog must show, as JSON, row by row.
PARAMETERS = "alpha = 0.5\nepochs = 3\nname = 'demo'  # a label\n"
PREFILLED = [("alpha", "0.5"), ("epochs", "3"), ("name", '"demo"')]


def write_notebook(path: Path) -> None:
    """An nbformat-4 notebook: a parameters cell, then a cell that prints the parameters."""
    cells = [
        {"id": "p", "cell_type": "code", "metadata": {"tags": ["parameters"]},
         "source": PARAMETERS, "outputs": [], "execution_count": None},
        {"id": "r", "cell_type": "code", "metadata": {},
         "source": "print('RESULT', alpha * epochs, name)", "outputs": [],
         "execution_count": None},
    ]  # fmt: skip
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {"kernelspec": kernelspec},
                "cells": cells,
            }  # fmt: skip
        )
    )


@pytest.fixture
def notebook(lab) -> Path:
    """A fresh notebook at the Lab's root (written before the page loads, so it is listed)."""
    path = lab.work / "root" / f"nbjob-{uuid.uuid4().hex[:8]}.ipynb"
    write_notebook(path)
    return path


def file_item(page: Page, name: str):
    """The file browser's row of ``name`` (the browser opened, refreshed until it lists it)."""
    if not page.locator("#filebrowser").is_visible():
        page.locator('.jp-SideBar li[data-id="filebrowser"]').click()
    item = page.locator(f'.jp-DirListing-item[data-file-type="notebook"][title*="{name}"]')
    if not item.count():
        page.locator('#filebrowser [data-command="filebrowser:refresh"]').click()
    expect(item).to_be_visible(timeout=UI_TIMEOUT_MS)
    return item


def parameter_rows(box) -> list[tuple[str, str]]:
    """The dialog's parameter rows as (name, value) pairs."""
    return box.locator(".iog-RunNotebookDialog-row").evaluate_all(
        """rows => rows.map(r => [r.querySelector('.iog-RunNotebookDialog-name').value,
                                  r.querySelector('.iog-RunNotebookDialog-value').value])"""
    )


def test_file_browser_runs_a_notebook_as_a_job(notebook, page, lab):
    sid = f"nb-{uuid.uuid4().hex[:10]}"
    try:
        file_item(page, notebook.name).click(button="right")
        page.get_by_role("menuitem", name="Run as Ray job…").click()
        box = dialog(page)
        expect(box).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(box.locator(".jp-Dialog-header")).to_have_text(f"Run {notebook.name} as a Ray job")
        expect(box.locator(".iog-RunNotebookDialog-row")).to_have_count(len(PREFILLED))
        assert [tuple(r) for r in parameter_rows(box)] == PREFILLED
        submit = box.get_by_role("button", name="Submit", exact=True)
        expect(submit).to_be_enabled()

        # A bad name disables Submit and says why; fixing it enables it again.
        name = box.get_by_label("Name of epochs", exact=True)
        name.fill("2epochs")
        expect(submit).to_be_disabled()
        hint = box.locator(".iog-RunNotebookDialog-hint")
        expect(hint).to_contain_text('Parameter "2epochs" is not a name')
        expect(hint).to_be_in_viewport()
        box.get_by_label("Name of 2epochs", exact=True).fill("epochs")
        expect(submit).to_be_enabled()

        box.get_by_label("Value of epochs", exact=True).fill("1")
        expect(box.locator(".iog-RunNotebookDialog-note").nth(1)).to_have_text("JSON number.")
        box.get_by_label("Submission ID", exact=True).fill(sid)
        screenshot(box, "run-notebook-dialog")
        submit.click()
        expect(box).to_be_hidden(timeout=UI_TIMEOUT_MS)

        # The job's log tab opens; the toast says where the executed copy will be.
        output = f"{notebook.stem}.{sid}.ipynb"
        expect(log_panel(page, sid)).to_be_visible(timeout=UI_TIMEOUT_MS)
        expect(page.locator(".Toastify").get_by_text(output, exact=False)).to_be_visible()
        job = lab.api("GET", f"jobs/{sid}")
        assert job["notebook"] == notebook.name

        # It ran the notebook with the changed parameter; the executed copy is next to it.
        deadline = time.monotonic() + JOB_TIMEOUT_MS / 1000
        while job["status"] in ("PENDING", "RUNNING") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = lab.api("GET", f"jobs/{sid}")
        assert job["status"] == "SUCCEEDED", job
        # The server collects the executed copy shortly after the job ends.
        copy = notebook.parent / output
        while not copy.exists() and time.monotonic() < deadline + 30:
            time.sleep(0.5)
        expect(file_item(page, output)).to_be_visible(timeout=UI_TIMEOUT_MS)
        executed = json.loads(copy.read_text())
        printed = "".join(
            "".join(out.get("text", ""))
            for cell in executed["cells"]
            for out in cell.get("outputs", [])
        )
        assert "RESULT 0.5 demo" in printed, printed
    finally:
        stop_quietly(lab, sid)


def test_notebook_toolbar_saves_and_opens_the_dialog(notebook, page, lab):
    file_item(page, notebook.name).dblclick()
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    button = panel.locator('[data-jp-item-name="iog-run-as-job"]')
    expect(button).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(button.locator("jp-button")).to_have_attribute("title", "Run as Ray job…")

    # An unsaved edit of the parameters cell: the button saves it, so the job runs what is seen.
    editor = panel.locator(".jp-Cell").first.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nbeta = 7")
    expect(panel.locator(".jp-Cell").first).to_contain_text("beta = 7")
    button.get_by_role("button", name="Run as job").click()

    box = dialog(page)
    expect(box).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(box.locator(".jp-Dialog-header")).to_have_text(f"Run {notebook.name} as a Ray job")
    expect(box.locator(".iog-RunNotebookDialog-row")).to_have_count(len(PREFILLED) + 1)
    assert [tuple(r) for r in parameter_rows(box)] == [*PREFILLED, ("beta", "7")]
    assert "beta = 7" in "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    box.get_by_role("button", name="Cancel", exact=True).click()
    expect(box).to_be_hidden()
