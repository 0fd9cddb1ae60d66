"""Notebooks run as jobs: REST (both backends), refusals, a server restart, the CLI, Python API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.fixtures import REPO, api, server_config
from tests.jupyter_subprocess import start_jupyter

pytestmark = pytest.mark.ray


@pytest.fixture
def jobs_backend(request: pytest.FixtureRequest) -> str:
    """Which backend the server is forced to (``indirect`` parametrization; Ray by default)."""
    return getattr(request, "param", "ray")


@pytest.fixture
def jp_server_config(ray_head, tmp_path, jobs_backend):
    """iog_jupyter with its own state dir, collecting ended notebook jobs quickly."""
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend=jobs_backend,
        request_timeout_s=60.0,
        jobs_state_dir=tmp_path / "iog_state",
        notebook_collect_interval_s=0.3,
    )


def write_notebook(path: Path, *cells: str, parameters: str = "n = 1") -> Path:
    """A notebook: a cell tagged ``parameters`` (``parameters``), then ``cells``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(src) for src in cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


async def wait_for(check, timeout_s: float = 90.0, what: str = "") -> Any:
    """Poll ``check()`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.3)


async def ended(jp_fetch, sid: str) -> dict[str, Any]:
    """The job's record once it has ended."""

    async def check():
        code, job = await api(jp_fetch, "jobs", sid)
        assert code == 200, job
        return job if job["status"] in ("SUCCEEDED", "FAILED", "STOPPED") else None

    return await wait_for(check, what=f"job {sid} to end")


def outputs_text(cell: Any) -> str:
    """Every text a code cell's outputs show."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.extend(str(v) for v in out.get("data", {}).values())
        parts.extend(out.get("traceback", []))
    return "".join(parts)


@pytest.mark.parametrize("jobs_backend", ["ray", "local"], indirect=True)
async def test_parameters_run_and_copy_comes_back(jp_fetch, jp_root_dir, jobs_backend):
    write_notebook(jp_root_dir / "sub" / "calc.ipynb", "print('n is', n)", "n * 6")
    body = {"path": "sub/calc.ipynb", "parameters": {"n": 7}}
    code, reply = await api(jp_fetch, "notebook-jobs", method="POST", body=body)
    assert code == 201, reply
    sid = reply["submission_id"]
    assert sid.startswith("nb-calc-")
    assert reply["notebook"] == "sub/calc.ipynb"
    assert reply["output"] == f"sub/calc.{sid}.ipynb"
    job = await ended(jp_fetch, sid)
    assert job["status"] == "SUCCEEDED", job
    assert job["notebook"] == "sub/calc.ipynb"
    assert job["notebook_output"] == reply["output"]
    assert job["metadata"]["name"] == "calc.ipynb"
    code, page = await api(jp_fetch, "jobs", sid, "logs")
    assert "[iog] cell 1/4" in page["text"] and "[iog] cell 4/4" in page["text"], page["text"]
    assert "n is 7" in page["text"]
    out = jp_root_dir / reply["output"]
    await wait_for(out.exists, what="the executed copy")
    nb = nbformat.read(out, as_version=4)
    assert "injected-parameters" in nb.cells[1].metadata.get("tags", [])
    assert "n is 7" in outputs_text(nb.cells[2])
    assert "42" in outputs_text(nb.cells[3])


@pytest.mark.parametrize("jobs_backend", ["ray", "local"], indirect=True)
async def test_earlier_copies_are_not_uploaded_again(jp_fetch, jp_root_dir, jobs_backend):
    """Copies of earlier runs stay out of a later run's working_dir; the user's excludes too."""
    write_notebook(jp_root_dir / "ls" / "ls.ipynb", "import os; print(sorted(os.listdir('.')))")
    (jp_root_dir / "ls" / "junk.txt").write_text("not for upload")
    bad = {"path": "ls/ls.ipynb", "runtime_env": {"excludes": "junk.txt"}}
    code, reply = await api(jp_fetch, "notebook-jobs", method="POST", body=bad)
    assert code == 400 and "excludes must be a list of strings" in reply["message"], reply
    outputs = []
    for sid in (None, "my-run.1", None):
        body = {"path": "ls/ls.ipynb", "runtime_env": {"excludes": ["junk.txt"]}}
        code, reply = await api(
            jp_fetch, "notebook-jobs", method="POST", body=body | {"submission_id": sid}
        )
        assert code == 201, reply
        assert (await ended(jp_fetch, reply["submission_id"]))["status"] == "SUCCEEDED"
        out = jp_root_dir / reply["output"]
        await wait_for(out.exists, what="the executed copy")
        outputs.append(out)
    listing = outputs_text(nbformat.read(outputs[-1], as_version=4).cells[1])
    assert "ls.ipynb" in listing, listing
    assert "junk.txt" not in listing and ".nb-" not in listing and "my-run" not in listing, listing
    assert "['ls.ipynb']" in listing, listing


async def test_failed_cell_copy_has_traceback(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb", "raise ValueError('boom-cell')", "print('never')")
    code, reply = await api(jp_fetch, "notebook-jobs", method="POST", body={"path": "bad.ipynb"})
    assert code == 201, reply
    job = await ended(jp_fetch, reply["submission_id"])
    assert job["status"] == "FAILED", job
    out = jp_root_dir / reply["output"]
    await wait_for(out.exists, what="the executed copy")
    nb = nbformat.read(out, as_version=4)
    failing = next(c for c in nb.cells if "boom-cell" in c.get("source", ""))
    assert failing.outputs[0]["output_type"] == "error"
    assert failing.outputs[0]["ename"] == "ValueError"
    assert any("boom-cell" in line for line in failing.outputs[0]["traceback"])
    later = next(c for c in nb.cells if "never" in c.get("source", ""))
    assert later.execution_count is None and later.outputs == []


async def test_refusals_create_no_job(jp_fetch, jp_root_dir, tmp_path, jp_serverapp):
    outside = write_notebook(jp_root_dir.parent / "outside.ipynb")
    write_notebook(jp_root_dir / "ok.ipynb")
    (jp_root_dir / "link.ipynb").symlink_to(outside)
    (jp_root_dir / "text.txt").write_text("not a notebook")
    (jp_root_dir / "broken.ipynb").write_text("{not json")
    code, page = await api(jp_fetch, "jobs", limit="1")
    before = page["total"]
    cases = [
        ({"path": "../outside.ipynb"}, 403, "outside the Jupyter root"),
        ({"path": str(outside)}, 403, "outside the Jupyter root"),
        ({"path": "link.ipynb"}, 403, "outside the Jupyter root"),
        ({"path": "missing.ipynb"}, 404, "No notebook"),
        ({"path": "text.txt"}, 400, "not a notebook"),
        ({"path": "broken.ipynb"}, 400, "not a notebook nbformat can read"),
        ({"path": "ok.ipynb", "parameters": {"1x": 1}}, 400, "not a Python identifier"),
        ({"path": "ok.ipynb", "parameters": {"class": 1}}, 400, "not a Python identifier"),
        ({"path": "ok.ipynb", "runtime_env": {"working_dir": "/tmp"}}, 400, "working_dir"),
        ({"path": "ok.ipynb", "metadata": {"iog.notebook": "x"}}, 400, "reserved"),
        ({"path": "ok.ipynb", "entrypoint": "echo"}, 400, "entrypoint"),
        ({"path": "ok.ipynb", "kernel_name": "--x"}, 400, "not a kernel name"),
    ]
    for body, status, words in cases:
        code, reply = await api(jp_fetch, "notebook-jobs", method="POST", body=body)
        assert code == status, (body, reply)
        assert words in reply["message"], (body, reply)
        if status == 403:
            assert reply["reason"] == "outside_root"
    code, page = await api(jp_fetch, "jobs", limit="1")
    assert page["total"] == before
    assert sorted(p.name for p in jp_root_dir.iterdir()) == [
        "broken.ipynb",
        "link.ipynb",
        "ok.ipynb",
        "text.txt",
    ]
    (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
    assert app.notebook_store.pending() == []


async def test_stopped_before_running_gets_a_note(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "slow.ipynb", "import time; time.sleep(60)")
    body = {"path": "slow.ipynb", "entrypoint_resources": {"no-such-resource": 1}}
    code, reply = await api(jp_fetch, "notebook-jobs", method="POST", body=body)
    assert code == 201, reply
    sid = reply["submission_id"]
    again = {"path": "slow.ipynb", "submission_id": sid}
    code, refused = await api(jp_fetch, "notebook-jobs", method="POST", body=again)
    assert code == 409, refused  # and the first job's record is kept: its copy comes below
    code, _ = await api(jp_fetch, "jobs", sid, "stop", method="POST")
    assert code == 200
    job = await ended(jp_fetch, sid)
    assert job["status"] in ("STOPPED", "FAILED")
    out = jp_root_dir / reply["output"]
    await wait_for(out.exists, what="the copy of a job that never ran")
    nb = nbformat.read(out, as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    assert f"`{sid}` ended {job['status']}" in nb.cells[0].source
    assert "time.sleep(60)" in nb.cells[2].source and nb.cells[2].outputs == []


def test_copy_comes_back_after_a_restart(ray_head, tmp_path):
    state = tmp_path / "state"
    config = server_config(
        jobs_backend="ray", jobs_state_dir=state, notebook_collect_interval_s=0.3
    )
    first = start_jupyter(tmp_path, config)
    try:
        write_notebook(tmp_path / "root" / "later.ipynb", "import time; time.sleep(6)", "n + 1")
        reply = first.api("POST", "notebook-jobs", {"path": "later.ipynb", "parameters": {"n": 4}})
    finally:
        first.stop()
    out = tmp_path / "root" / reply["output"]
    assert not out.exists()
    second = start_jupyter(tmp_path, config)
    try:
        deadline = time.monotonic() + 120
        while not out.exists():
            assert time.monotonic() < deadline, second.log_tail()
            time.sleep(0.5)
        job = second.api("GET", f"jobs/{reply['submission_id']}")
    finally:
        second.stop()
    assert job["status"] == "SUCCEEDED"
    nb = nbformat.read(out, as_version=4)
    assert "5" in outputs_text(nb.cells[-1])


async def test_cli_remote_notebook(jp_fetch, jp_serverapp, server_url, jp_root_dir, tmp_path):
    write_notebook(jp_root_dir / "cli.ipynb", "print('got', repr(n), repr(s))", parameters="n = 0")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    env.update(
        PYTHONPATH=str(REPO),
        IOG_HOME=str(tmp_path / "iog-home"),
        IOG_TOKEN=jp_serverapp.identity_provider.token,
    )
    argv = ["jobs", "submit", "--notebook", "cli.ipynb", "-p", "n=3", "-p", "s=text"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iog_jupyter.cli",
        *argv,
        "--url",
        server_url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, (out, err)
    assert "got 3 'text'" in out.decode()
    assert "[iog] cell 2/3" in out.decode()
    assert "its executed copy will be cli.nb-cli-" in err.decode()
    sid = err.decode().split("submitted notebook job ")[1].split(";")[0]
    copy = jp_root_dir / f"cli.{sid}.ipynb"
    await wait_for(copy.exists, what="the CLI job's copy")
    assert "got 3 'text'" in outputs_text(nbformat.read(copy, as_version=4).cells[-1])


def test_python_api_in_process(ray_head, tmp_path, monkeypatch):
    from iog_jupyter import jobs

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    root = tmp_path / "work"
    write_notebook(root / "api <b>'x'.ipynb", "print('n * 2 =', n * 2)")
    sid = f"nb-api-{uuid.uuid4().hex[:8]}"
    job = jobs.submit_notebook(
        "api <b>'x'.ipynb", {"n": 21}, root_dir=str(root), submission_id=sid, backend="ray"
    )
    try:
        assert job.submission_id == sid
        assert job.output == str(root.resolve() / f"api <b>'x'.{sid}.ipynb")
        shown = job._repr_html_()
        assert "api &lt;b&gt;&#x27;x&#x27;." in shown and shown.count("<b>") == 1
        record = job.wait(timeout_s=120)
        assert record.status == "SUCCEEDED", record
        nb = nbformat.read(job.output, as_version=4)
        assert "n * 2 = 42" in outputs_text(nb.cells[-1])
        with pytest.raises(Exception, match="outside the Jupyter root"):
            jobs.submit_notebook("../x.ipynb", root_dir=str(root), backend="ray")
    finally:
        job.close()
    assert json.loads(Path(job.output).read_text())["cells"]


def test_cli_local_notebook(ray_head, tmp_path):
    """Local mode: the root is the current directory; the copy is written when the job ends."""
    root = tmp_path / "work"
    write_notebook(root / "local.ipynb", "print('local', n)")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "IOG_HOME": str(tmp_path / "iog-home"),
    }
    argv = ["jobs", "submit", "--backend", "local", "--notebook", "local.ipynb", "-p", "n=[1, 2]"]
    proc = subprocess.run(
        [sys.executable, "-m", "iog_jupyter.cli", *argv],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "local [1, 2]" in proc.stdout
    (copy,) = root.glob("local.nb-local-*.ipynb")
    assert "local [1, 2]" in outputs_text(nbformat.read(copy, as_version=4).cells[-1])
    refused = subprocess.run(
        [sys.executable, "-m", "iog_jupyter.cli", *argv[:4], "--notebook", "x.ipynb", "--", "ls"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "give no command" in refused.stderr


def test_runner_saves_without_outputs_over_the_cap(tmp_path):
    """Over ``--max-output-bytes`` the copy is saved without outputs, and the log says so."""
    write_notebook(tmp_path / "big.ipynb", "print('x' * 20000)", "print('small')")
    sink = tmp_path / "sink.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "iog_jupyter.core.jobs.notebook_run",
            "big.ipynb",
            "--output",
            str(sink),
            "--max-output-bytes",
            "8000",
        ],  # fmt: skip
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[iog] the executed notebook is over 8000 bytes" in proc.stdout
    nb = nbformat.read(sink, as_version=4)
    assert all(cell.outputs == [] for cell in nb.cells)
    assert nb.cells[-1].execution_count is not None  # executed to the end, outputs dropped
