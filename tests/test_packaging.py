"""The wheel carries the prebuilt labextension and the server config; Jupyter finds both."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from tests.fixtures import REPO, server_config
from tests.jupyter_subprocess import start_jupyter

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if (ROOT / "iog_jupyter" / "labextension" / "static" / "style.js").exists():
        # Packs the labextension the install built (the build hook still checks it is there)
        # instead of rebuilding it in this checkout while other test runs serve it.
        env["SKIP_JUPYTER_BUILDER"] = "1"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (built,) = out.glob("iog_jupyter-*.whl")
    return built


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    lab = f"{data}/data/share/jupyter/labextensions/iog-jupyter"
    assert f"{lab}/package.json" in names
    assert f"{lab}/install.json" in names
    assert any(n.startswith(f"{lab}/static/remoteEntry.") for n in names)
    assert f"{lab}/schemas/iog-jupyter/plugin.json" in names
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/iog_jupyter.json" in names
    config = json.loads(
        zipfile.ZipFile(wheel).read(
            f"{data}/data/etc/jupyter/jupyter_server_config.d/iog_jupyter.json"
        )
    )
    assert config["ServerApp"]["jpserver_extensions"]["iog_jupyter"] is True
    # `iog up` copies the tutorials from here into ~/iog-notebooks on a pip install.
    tutorials = {n.rpartition("/")[2] for n in names if "/share/iog-jupyter/notebooks/" in n}
    assert {p.name for p in (REPO / "notebooks").glob("*.ipynb")} <= tutorials
    # The production bundle ships, not sources, tests or a development build.
    assert not any(n.startswith("labextension/") or n.startswith("tests/") for n in names)
    assert "iog_jupyter/py.typed" in names
    assert "iog_jupyter/app.py" in names


def _install(python: Path, wheel: Path, *options: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet"]
        + list(options)
        + [str(wheel)],
        check=True,
        timeout=300,
    )


def _venv_with(wheel: Path, fresh: Path) -> Path:
    """A fresh venv with the wheel installed; Jupyter and Ray are borrowed from this one."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _install(python, wheel)
    return python


def test_installed_wheel_is_found_by_jupyter_without_node(wheel, tmp_path):
    """Install the wheel in a fresh venv (deps borrowed from this one) and ask Jupyter."""
    fresh = tmp_path / "venv"
    python = _venv_with(wheel, fresh)
    nodeless = tmp_path / "bin"
    nodeless.mkdir()
    env = {
        "PATH": str(nodeless),
        "HOME": str(tmp_path / "home"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "NO_COLOR": "1",
    }
    assert shutil.which("node", path=env["PATH"]) is None
    where = subprocess.run(
        [str(python), "-c", "import iog_jupyter; print(iog_jupyter.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(fresh)), where.stdout + where.stderr

    def listing(module: str) -> str:
        done = subprocess.run(
            [str(python), "-m", module, "list"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)

    lab_out = listing("jupyterlab.labextensions")
    assert re.search(r"iog-jupyter v\S+ enabled\s+OK", lab_out), lab_out
    assert str(fresh / "share" / "jupyter" / "labextensions") in lab_out
    server_out = listing("jupyter_server.extension.serverextension")
    assert "iog_jupyter enabled" in server_out, server_out
    assert re.search(r"iog_jupyter \S+ OK", server_out), server_out


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(meta).decode()
    return [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def test_base_requirements_keep_the_clusters_ray_and_load_the_extension(wheel):
    base = [r for r in _requires(wheel) if "extra ==" not in r]
    names = {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in base}
    # Any Ray from 2.40 satisfies the pin, so installing into a head's environment keeps its Ray.
    (ray,) = [r for r in base if r.lower().startswith("ray")]
    assert re.fullmatch(r"ray\[default\]\s*>=\s*2\.40", ray.split(";")[0].strip()), ray
    # Everything the server extension imports comes with the base install.
    assert {"jupyter-server", "jupyter-server-proxy", "tornado", "traitlets"} <= names


BLOCK_EXTRAS = """
import importlib.abc, sys
BLOCKED = ("jupyterlab", "ipywidgets", "plotly", "anywidget", "IPython", "ipykernel")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a base dependency)")
        return None
sys.meta_path.insert(0, Block())
import iog_jupyter, iog_jupyter.app, iog_jupyter.cli.main
from iog_jupyter.handlers import all_handlers
print("loaded", len(all_handlers()))
"""


def test_server_extension_loads_without_the_extras():
    """The base install (no `lab` or `widgets` extra) loads every handler, the dashboard's too."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_EXTRAS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) >= 15


@pytest.mark.ray
def test_jobs_and_logs_continue_across_a_server_upgrade(wheel, tmp_path, ray_head):
    """Stop the server, `pip install -U` the package, start it: the job runs on, its log resumes."""
    python = _venv_with(wheel, tmp_path / "venv")
    config = server_config(
        jobs_backend="ray", jobs_state_dir=tmp_path / "state", refresh_interval_s=0.5
    )
    ticker = (
        "import time\nfor i in range(10**6):\n    print('tick', i, flush=True)\n    time.sleep(0.1)"
    )
    submission_id = f"upgrade-{os.urandom(3).hex()}"
    server = start_jupyter(tmp_path / "before", config, python=str(python))
    try:
        server.api(
            "POST",
            "jobs",
            {"submission_id": submission_id, "entrypoint": f"python -u -c {shlex.quote(ticker)}"},
        )
        deadline = time.monotonic() + 120
        while "tick 3" not in (page := server.api("GET", f"jobs/{submission_id}/logs"))["text"]:
            assert time.monotonic() < deadline, "the job never printed"
            time.sleep(0.5)
    finally:
        server.stop()
    _install(python, wheel, "--upgrade", "--force-reinstall")
    server = start_jupyter(tmp_path / "after", config, python=str(python))
    try:
        assert server.api("GET", f"jobs/{submission_id}")["status"] == "RUNNING"
        resumed = server.api("GET", f"jobs/{submission_id}/logs?offset={page['next_offset']}")
        assert resumed["offset"] == page["next_offset"]
        last = int(re.findall(r"tick (\d+)", page["text"])[-1])
        assert re.match(rf"tick {last + 1}\n", resumed["text"]), resumed["text"][:80]
        assert server.api("POST", f"jobs/{submission_id}/stop")["stopped"] is True
    finally:
        server.stop()
