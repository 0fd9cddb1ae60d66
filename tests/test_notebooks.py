"""Every tutorial in notebooks/ runs top to bottom against the test Ray head, in a real kernel."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.local_head import LocalHead, start_head, stop_head
from tests.fixtures import REPO, kernel_manager

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120
PIPELINE = REPO / "notebooks" / "05_isolated_pipeline.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def plain_head(ray_head: LocalHead) -> Iterator[LocalHead]:
    """A one-node head with Ray's default resources: no pool of any kind, 2 CPUs.

    It shares the session head's token (Ray's clients hold one token per process).
    """
    temp_dir = tempfile.mkdtemp(prefix="iogn", dir="/tmp")
    head = start_head(temp_dir, ray_head.token_path, num_cpus=2, single_node=True)
    try:
        yield head
    finally:
        stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _output_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            for mime in ("text/plain", "text/html"):
                parts.append(str(output.get("data", {}).get(mime, "")))
    return "\n".join(parts)


def _html_outputs(nb: nbformat.NotebookNode, widget: bool) -> list[str]:
    """The ``text/html`` of outputs that carry a widget view (``widget``) or do not."""
    return [
        str(output["data"]["text/html"])
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {}) and (WIDGET_VIEW in output["data"]) == widget
    ]


def _totals(address: str | None = None) -> dict[str, float]:
    conn = RayConnection(address)
    try:
        return get_cluster_snapshot(conn, include_usage=False).totals
    finally:
        conn.close()


def _execute(
    path: Path, tmp_path: Path, env: dict[str, str] | None = None
) -> nbformat.NotebookNode:
    """Run the notebook top to bottom in a fresh kernel; fail on the first error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=kernel_manager(tmp_path / "kernels", env),
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        output
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    return nb


def _check_pipeline(text: str, pooled: bool) -> None:
    """What tutorial 05 prints on every cluster, and where each stage ran."""
    assert "refused: No node of this cluster is in pool 'gpu-h100'" in text
    assert re.search(r"weights \[3\.0, 0\.5\], held-out RMSE 0\.\d+", text)
    assert "not in the train stage:" in text
    for name in ("preprocess", "train", "serve"):
        found = f"Pool {name!r} found: stage {name} runs on its nodes, in its own namespace."
        missing = (
            f"No pool {name!r} on this cluster: stage {name} runs on any node, "
            "isolated by namespace only."
        )
        assert (found in text, missing in text) == (pooled, not pooled), name
    if pooled:
        assert "SUCCEEDED on pool train - stage train pool train namespace stage-train" in text
    else:
        assert "SUCCEEDED on any node - stage train pool none namespace stage-train" in text
        assert "on pool " not in text


def test_notebooks_exist_with_outputs_stripped() -> None:
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.ray
@pytest.mark.tutorial
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, ray_head: LocalHead, tmp_path: Path) -> None:
    totals = _totals()
    cpus = totals["CPU"]
    nb = _execute(path, tmp_path)
    text = _output_text(nb)
    assert f"CPU total: {cpus:g}" in text
    if path.name == "01_cluster_resources.ipynb":
        used = re.search(r"CPU in use while the tasks run: ([\d.]+) of", text)
        assert used is not None and float(used.group(1)) > 0
        # The widget's HTML fallback (in its MIME bundle) carries the same totals.
        assert re.search(rf"<b>CPU</b> [\d.]+ / {cpus:g}", text)
    if path.name == "02_jobs.ipynb":
        assert re.search(r"hello from a Ray job on [\d.]+ CPUs with GREETING = hi", text)
        assert " SUCCEEDED exit code 0" in text
        # The env var's value is redacted in what iog shows back.
        assert "'GREETING': 'hi'" not in text
    if path.name == "03_sessions.ipynb":
        assert "same on a second call: True" in text
        assert "kind: notebook | actors: 2 | holds CPU: 0.2" in text
        assert "exemption ended: True" in text
        assert "killed 2 actor(s), kept 0 detached" in text and "the released actor is gone" in text
        assert "iog-sessions" in text  # the widget's HTML fallback table
    if path.name == "04_detached_actors.ipynb":
        assert "same actor: True" in text and "same state: [0.1, 0.7, 0.2]" in text
        assert "after the restart: [0.1, 0.7, 0.2]" in text
        assert "the other notebook reads: [0.1, 0.7, 0.2]" in text
        assert "back here, user-7 is: [1.0]" in text
        assert "tutorial-actors/features: ALIVE, class FeatureCache, owner " in text
        assert "TTL now: 1800.0 s; expiry moved later: True" in text
        assert "refused: iog_jupyter will not touch actor" in text and "killed: features" in text
        assert "iog-actors" in text  # the widget's HTML fallback table
    if path.name == "05_isolated_pipeline.ipynb":
        # The session head carries the pool:preprocess/train/serve resources.
        _check_pipeline(text, pooled=True)
    if path.name == "07_notebook_as_a_job.ipynb":
        assert re.search(r"its copy will be runs/train\.nb-train-[0-9a-f]{8}\.ipynb", text)
        assert "job SUCCEEDED" in text and "job FAILED" in text
        injected = "injected cell: ['injected-parameters'] -> # Parameters; lr = 0.5; epochs = 3"
        assert injected in text
        assert "epoch 2: w = 3.0000" in text and "result: 3.0" in text
        assert "error in the copy: RuntimeError - the data set is missing" in text
        assert "last cell ran: False" in text
        assert text.count("refused:") == 2 and "outside the Jupyter root" in text
        assert "not a Python identifier" in text
    if path.name == "06_vscode_remote.ipynb":
        # Each widget's output carries the HTML fallback next to its widget view ...
        bundled = _html_outputs(nb, widget=True)
        assert any('class="iog-ClusterWidget"' in h for h in bundled)
        assert any('class="iog-jobs"' in h for h in bundled)
        assert any('class="iog-Workspace"' in h for h in bundled)
        # ... and the cells that display it alone show real values: the cluster's totals,
        # its node table, and the job the notebook ran, SUCCEEDED.
        shown = "\n".join(_html_outputs(nb, widget=False))
        assert re.search(rf"<b>CPU</b> [\d.]+ / {cpus:g} ", shown)
        assert re.search(rf"<b>GPU</b> [\d.]+ / {totals['GPU']:g} ", shown)
        assert 'class="iog-ClusterWidget-nodes"' in shown and "<i>(head)</i>" in shown
        job = re.search(r"job (\S+) SUCCEEDED", text)
        # The job's name cell: its id, as it has no metadata name.
        assert job is not None and re.search(rf"<td[^>]*>{re.escape(job.group(1))}</td>", shown)
        assert "iog-job-SUCCEEDED" in shown and "hello from VS Code" in shown
    if path.name == "09_gpu_usage.ipynb":
        # The test head has 2 logical GPUs: the notebook held one, billed within a second.
        assert "held 1 GPU for " in text and "within a second of the truth: True" in text
        summary = r"this notebook: .* \| held 1 GPU for \d+ s, utilisation not reported"
        assert re.search(summary, text)
        assert 'class="iog-usage"' in text  # the widget's HTML fallback table
        assert "cleaned up" in text
    if path.name == "08_hear_when_jobs_end.ipynb":
        # Each job is told once as it ends; the exit statuses of success, timeout and stop.
        assert text.count("prep SUCCEEDED after ") == 1 and text.count("train SUCCEEDED") == 1
        assert "exit status: 0\n" in text
        assert "timed out: ['long']" in text and "exit status on a timeout: 124" in text
        assert "long STOPPED after " in text and "exit status after the stop: 5" in text
        assert "cleaned up 3 jobs" in text


@pytest.mark.ray
@pytest.mark.tutorial
def test_pipeline_notebook_on_a_plain_head(plain_head: LocalHead, tmp_path: Path) -> None:
    """Tutorial 05 on one node with Ray's default resources: each stage by namespace only."""
    assert not any(name.startswith("pool:") for name in _totals(plain_head.address))
    nb = _execute(PIPELINE, tmp_path, plain_head.env())
    text = _output_text(nb)
    assert "CPU total: 2\n" in text
    assert "pool resources: []" in text
    _check_pipeline(text, pooled=False)
