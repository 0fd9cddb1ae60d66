"""Fixtures: one real Ray head per run (loopback, token auth); Jupyter servers with iog_jupyter.

A test module that needs other server traits overrides ``jp_server_config`` with
:func:`tests.fixtures.server_config`; the helpers it builds on are in ``tests/fixtures.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from iog_jupyter.core import local_head
from iog_jupyter.core.local_head import LocalHead, start_head, stop_head
from tests.fixtures import server_config

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(scope="session")
def ray_head() -> Iterator[LocalHead]:
    """A real Ray head for the whole run: token auth, dashboard on 127.0.0.1, its own temp dir.

    It is multi-node (worker nodes can join, for the join/leave tests), so some Ray ports bind
    beyond loopback; the token is the guard. Clients find it through the environment variables
    set here (RAY_ADDRESS, RAY_AUTH_MODE, RAY_AUTH_TOKEN_PATH), as users' clients would.
    """
    # Ray puts Unix sockets under the temp dir: keep the path short.
    temp_dir = tempfile.mkdtemp(prefix="iogt", dir="/tmp")
    # The token lives apart from the head's temp dir and stays, with the environment, until the
    # process exits: Ray's client threads still read it while the interpreter shuts down.
    token_path = str(Path(tempfile.mkdtemp(prefix="iogk", dir="/tmp")) / "auth_token")
    # The head stands in for three node pools (notebooks/05_isolated_pipeline.ipynb).
    resources = '{"pool:preprocess": 4, "pool:train": 4, "pool:serve": 4}'
    head = start_head(
        temp_dir, token_path, num_cpus=2, num_gpus=2, resources=resources, single_node=False
    )
    if not local_head.ray_has_token_auth():
        # A Ray without token auth (before 2.52) ignores tokens: give it a stale one anyway, in
        # Ray's own variable, so every test also checks that it is ignored and never leaks.
        local_head.ensure_token_file(token_path)
        os.environ["RAY_AUTH_TOKEN_PATH"] = token_path
    os.environ.update(head.env())
    try:
        yield head
    finally:
        stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def restartable_head(ray_head: LocalHead) -> Iterator[LocalHead]:
    """A second, single-node head per module: stopping it leaves the session head alone.

    It shares the session head's token: Ray's clients hold one token per process. Restart it with
    ``start_head(head.temp_dir, head.token_path, head.gcs_port, head.dashboard_port, 1)``.
    """
    temp_dir = tempfile.mkdtemp(prefix="iogr", dir="/tmp")
    head = start_head(temp_dir, ray_head.token_path, num_cpus=1, single_node=True)
    try:
        yield head
    finally:
        stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def jp_server_config(ray_head: LocalHead) -> dict:
    """Enable iog_jupyter with authentication on; poll fast so tests see changes quickly."""
    return server_config(refresh_interval_s=0.5)


@pytest.fixture
def server_url(jp_serverapp, http_server, jp_base_url, jp_http_port) -> str:
    """The base URL of the pytest-jupyter server, listening on its port (``http_server``)."""
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
