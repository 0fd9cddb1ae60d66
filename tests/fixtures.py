"""What the tests share to start servers, kernels and drivers, and to talk to a server.

- :func:`server_config`: the ``jp_server_config`` of a Jupyter server with iog_jupyter on
  (authentication on); each test module passes only the ``IogJupyterApp`` traits it needs.
  :func:`server_argv` writes the same config as command-line options (subprocess servers).
- :func:`api`: iog's REST API through pytest-jupyter's ``jp_fetch``.
- :func:`kernel_manager`: a real IPython kernel on this interpreter, this checkout importable.
- :func:`ray_env`, :func:`start_session_driver`, :func:`session_driver`: child processes on a
  test head (``tests/drivers/session_driver.py`` stands in for a kernel's Ray driver).

The pytest fixtures themselves (``ray_head``, ``restartable_head``, the default
``jp_server_config``, ``server_url``) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from tornado.httpclient import HTTPClientError

from iog_jupyter.core.local_head import LocalHead

REPO = Path(__file__).resolve().parents[1]
SESSION_DRIVER = REPO / "tests" / "drivers" / "session_driver.py"
KERNEL_NAME = "iog-test-python"
#: A ``ray_address`` where no Ray answers (a closed port): for servers that must not reach any
#: head, e.g. one another test run on this machine started.
NO_RAY = "127.0.0.1:1"


# -- server config ------------------------------------------------------------------------------


def server_config(*, server: Mapping[str, Any] | None = None, **iog: Any) -> dict[str, Any]:
    """A Jupyter server config with iog_jupyter enabled and authentication on.

    Args:
        server: More ``ServerApp`` traits (an authorizer class, ``disable_check_xsrf``, ...).
        **iog: ``IogJupyterApp`` traits; paths may be given as :class:`~pathlib.Path`.

    Returns:
        ``{"ServerApp": {...}, "IogJupyterApp": {...}}``, a fresh dict on each call.
    """
    return {
        "ServerApp": {
            "jpserver_extensions": {"iog_jupyter": True},
            "allow_unauthenticated_access": False,
            **(server or {}),
        },
        "IogJupyterApp": {
            name: os.fspath(value) if isinstance(value, os.PathLike) else value
            for name, value in iog.items()
        },
    }


def head_traits(head: LocalHead) -> dict[str, str]:
    """The ``IogJupyterApp`` traits that point a server at ``head`` (not the environment's)."""
    return {"ray_address": head.address, "ray_token_path": head.token_path}


def server_argv(config: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``config`` (as :func:`server_config` builds it) as ``--Class.trait=value`` options."""
    return [
        f"--{section}.{name}={value}"
        for section, traits in config.items()
        for name, value in traits.items()
    ]


# -- a server's REST API ------------------------------------------------------------------------


async def api(
    jp_fetch, *parts: str, method: str = "GET", body: Any = None, **params: str
) -> tuple[int, Any]:
    """Call ``iog/api/v1/<parts>``; returns (status, decoded body or None), errors included."""
    kwargs: dict[str, Any] = {"method": method, "params": params or None}
    if method == "POST":
        kwargs["body"] = json.dumps(body) if body is not None else ""
        kwargs["headers"] = {"Content-Type": "application/json"}
    try:
        reply = await jp_fetch("iog", "api", "v1", *parts, **kwargs)
    except HTTPClientError as err:
        assert err.response is not None
        return err.code, json.loads(err.response.body or b"{}")
    return reply.code, json.loads(reply.body) if reply.body else None


# -- kernels and drivers ------------------------------------------------------------------------


def kernel_manager(kernels_dir: Path, env: Mapping[str, str] | None = None) -> KernelManager:
    """A (not yet started) kernel on this test's interpreter, with the repository importable.

    Its kernel spec is written under ``kernels_dir``; ``env`` is added to the kernel's
    environment (another head's ``RAY_ADDRESS``, ...).
    """
    spec_dir = kernels_dir / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "iog_jupyter tests",
        "language": "python",
        "env": {"PYTHONPATH": str(REPO), **(env or {})},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(kernels_dir)])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def ray_env(head: LocalHead, **extra: str | None) -> dict[str, str]:
    """The environment of a child process on ``head``, this checkout importable.

    ``extra`` adds variables; a ``None`` value removes one.
    """
    env = {**os.environ, **head.env(), "PYTHONPATH": str(REPO)}
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def start_session_driver(
    head: LocalHead, tag: str, *flags: str, **env: str | None
) -> subprocess.Popen[str]:
    """Start ``tests/drivers/session_driver.py TAG FLAGS`` on ``head`` (``env`` as in
    :func:`ray_env`); it prints ``READY <job id>`` once placed and stays until killed."""
    return subprocess.Popen(
        [sys.executable, str(SESSION_DRIVER), tag, *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=ray_env(head, **env),
        text=True,
    )


@contextmanager
def session_driver(
    head: LocalHead, tag: str, *flags: str, **env: str | None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run a session driver (:func:`start_session_driver`) until the block ends; yield it and
    its job id."""
    proc = start_session_driver(head, tag, *flags, **env)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("READY "), f"driver {tag} did not start: {line!r}"
        yield proc, line.split()[1]
    finally:
        proc.kill()
        proc.wait(timeout=30)
