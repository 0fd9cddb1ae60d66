"""Every tutorial in notebooks/ runs top to bottom against the test Ray head, in a real kernel."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.local_head import LocalHead

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL_NAME = "iog-test-python"
CELL_TIMEOUT_S = 120


def _kernel_manager(tmp_path: Path) -> KernelManager:
    """A kernel on this test's interpreter, with the repository importable."""
    spec_dir = tmp_path / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "iog_jupyter tests",
        "language": "python",
        "env": {"PYTHONPATH": str(REPO)},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def _output_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            for mime in ("text/plain", "text/html"):
                parts.append(str(output.get("data", {}).get(mime, "")))
    return "\n".join(parts)


def test_notebooks_exist_with_outputs_stripped() -> None:
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.ray
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, ray_head: LocalHead, tmp_path: Path) -> None:
    conn = RayConnection()
    try:
        cpus = get_cluster_snapshot(conn, include_usage=False).totals["CPU"]
    finally:
        conn.close()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        km=_kernel_manager(tmp_path),
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
        assert "refused: No node of this cluster is in pool 'gpu-h100'" in text
        assert re.search(r"weights \[3\.0, 0\.5\], held-out RMSE 0\.\d+", text)
        assert "not in the train stage:" in text
        assert "SUCCEEDED on pool train - stage train pool train namespace stage-train" in text
