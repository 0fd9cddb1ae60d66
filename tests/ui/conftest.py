"""Browser-test fixtures: a real JupyterLab subprocess with our prebuilt labextension, Chromium.

- ``lab_server`` (session): ``python -m jupyterlab`` on loopback with a random token, iog_jupyter
  enabled, authentication on, the local jobs backend, isolated Jupyter config/data/settings/
  workspace dirs, and our labextension found through ``JUPYTER_PATH`` (a symlink to the build
  output ``iog_jupyter/labextension``), whatever way iog_jupyter itself is installed.
- ``lab_factory`` (module): more Lab servers with other ``IogJupyterApp`` traits (a test module
  overrides ``lab`` to use one, e.g. pointed at ``restartable_head``).
- ``browser`` (session) and ``page`` (function): Debian's Chromium driven by Playwright, never a
  downloaded browser; each page is a fresh context on a fresh workspace, ready to use.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..fixtures import server_config
from ..jupyter_subprocess import JupyterProcess, start_jupyter

REPO = Path(__file__).resolve().parents[2]
BUILT_LABEXTENSION = REPO / "iog_jupyter" / "labextension"
CHROMIUM = os.environ.get("IOG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
LAB_READY_TIMEOUT_MS = 60_000
#: Playwright's default for clicks and fills (``expect`` waits are set per call or in lab.py).
ACTION_TIMEOUT_MS = 30_000
#: The Lab is ready: splash gone, main dock shown, the fresh workspace's launcher restored.
READY = (
    ("#jupyterlab-splash", "detached"),
    ("#jp-main-dock-panel", "visible"),
    (".jp-Launcher", "visible"),
)
#: User settings written for every Lab: no news/update toast (no internet), fast polling.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "iog-jupyter/plugin": {"refreshIntervalMs": 1000},
}
#: Server traits of every test Lab (a factory call adds or overrides some).
DEFAULT_TRAITS: dict[str, Any] = {
    "refresh_interval_s": 0.5,
    "max_backoff_s": 2.0,
    "jobs_backend": "local",
    "jobs_stop_grace_s": 1.0,
}


def start_lab(work: Path, **traits: Any) -> JupyterProcess:
    """Start JupyterLab with iog_jupyter and our labextension; ``traits`` go to IogJupyterApp."""
    if not (BUILT_LABEXTENSION / "package.json").is_file():
        pytest.fail(
            f"No built labextension at {BUILT_LABEXTENSION}: run "
            "`cd labextension && jlpm install && jlpm build` (pip install -e . builds it too)."
        )
    jupyter_path = work / "jupyter_path"
    (jupyter_path / "labextensions").mkdir(parents=True)
    (jupyter_path / "labextensions" / "iog-jupyter").symlink_to(
        BUILT_LABEXTENSION, target_is_directory=True
    )
    settings_dir = work / "lab_settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        "JUPYTER_PATH": os.pathsep.join(
            p for p in (str(jupyter_path), os.environ.get("JUPYTER_PATH", "")) if p
        ),
        "JUPYTER_CONFIG_DIR": str(work / "config"),
        "JUPYTER_DATA_DIR": str(work / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
    }
    config = server_config(**{**DEFAULT_TRAITS, "jobs_state_dir": work / "state", **traits})
    args = ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    return start_jupyter(work, config, args, module="jupyterlab", env=env)


@pytest.fixture(scope="session")
def lab_server(ray_head, tmp_path_factory) -> Iterator[JupyterProcess]:
    """One JupyterLab for the run, on the session Ray head (local jobs backend)."""
    lab = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def lab_factory(ray_head, tmp_path_factory) -> Iterator[Callable[..., JupyterProcess]]:
    """Start more Labs with other IogJupyterApp traits; all stop at the end of the module."""
    started: list[JupyterProcess] = []

    def factory(**traits: Any) -> JupyterProcess:
        lab = start_lab(tmp_path_factory.mktemp("lab"), **traits)
        started.append(lab)
        return lab

    try:
        yield factory
    finally:
        for lab in started:
            lab.stop()


@pytest.fixture
def lab(lab_server: JupyterProcess) -> JupyterProcess:
    """The Lab the ``page`` fixture opens (a module overrides this to use another one)."""
    return lab_server


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Replaces pytest-jupyter's autouse loop fixture here: it would close Playwright's loop.

    Playwright's sync API keeps its event loop running in this thread while a browser is open
    (so ``browser`` is module-scoped: the loop ends with the module, before any asyncio test).
    """
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    """Replaces pytest-jupyter's autouse cleanup: no in-process server here, only subprocesses."""
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium (``apt-get install chromium``) driven by Playwright; never downloaded.

    Module-scoped, not session-scoped: Playwright's loop must be gone before other tests run.
    """
    if os.environ.get("IOG_SKIP_UI") == "1":
        pytest.skip("IOG_SKIP_UI=1: browser tests skipped")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(
        CHROMIUM
    ):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (scripts/test.sh "
            "does), set IOG_CHROMIUM to its path, or set IOG_SKIP_UI=1 to skip browser tests."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_errors() -> dict[str, list[str]]:
    """What the page reported: uncaught errors and our extension's console errors."""
    return {"pageerror": [], "console": []}


@pytest.fixture
def viewport() -> dict[str, int]:
    """The page's window size (a test module overrides this for another one)."""
    return VIEWPORT


@pytest.fixture
def page(
    browser, lab: JupyterProcess, page_errors: dict[str, list[str]], viewport: dict[str, int]
) -> Iterator[Any]:
    """A fresh browser context on a fresh Lab workspace, with the Lab shell ready.

    Uncaught page errors fail the test at teardown; console errors mentioning iog are collected
    in ``page_errors["console"]`` for tests to assert on.
    """
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        tab = context.new_page()
        tab.on("pageerror", lambda error: page_errors["pageerror"].append(str(error)))

        def on_console(message: Any) -> None:
            where = (message.location or {}).get("url", "")
            if message.type == "error" and ("iog" in message.text or "iog" in where):
                page_errors["console"].append(f"{message.text} ({where})")

        tab.on("console", on_console)
        workspace = f"t{uuid.uuid4().hex[:10]}"
        try:
            tab.goto(f"{lab.url}lab/workspaces/{workspace}?token={lab.token}")
            for selector, state in READY:
                tab.locator(selector).first.wait_for(state=state, timeout=LAB_READY_TIMEOUT_MS)
        except PlaywrightError as err:
            pytest.fail(f"JupyterLab did not become ready: {err}\n{lab.log_tail()}")
        yield tab
    finally:
        context.close()
    assert not page_errors["pageerror"], f"uncaught errors in the page: {page_errors['pageerror']}"
