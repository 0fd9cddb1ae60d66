"""`iog status` tells a refused token from an unreachable Ray, and keeps Ray's C++ logs out."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from iog_jupyter.core import local_head
from iog_jupyter.core.connection import RayConnection
from tests.fixtures import REPO


def _iog(tmp_path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    clean.update(PYTHONPATH=str(REPO), IOG_HOME=str(tmp_path / "iog-home"), **env)
    return subprocess.run(
        [sys.executable, "-m", "iog_jupyter.cli", *argv],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.ray
@pytest.mark.skipif(not local_head.ray_has_token_auth(), reason="this Ray has no token auth")
def test_a_refused_token_is_not_called_unreachable_and_rays_logs_stay_out(ray_head, tmp_path):
    wrong = tmp_path / "wrong_token"
    wrong.write_text("0" * 32 + "\n")
    wrong.chmod(0o600)
    env = {"RAY_ADDRESS": ray_head.address, "RAY_AUTH_TOKEN_PATH": str(wrong)}
    done = _iog(tmp_path, "status", **env)
    assert done.returncode == 3, done.stderr
    assert "refused the token" in done.stderr and "not reachable" not in done.stderr
    assert "RAY_AUTH_TOKEN_PATH" in done.stderr and ray_head.address in done.stderr
    assert ".cc:" not in done.stderr, done.stderr  # no `gcs_client.cc:210 …` lines
    # -v keeps Ray's own lines for whoever debugs.
    verbose = _iog(tmp_path, "-v", "status", **env)
    assert verbose.returncode == 3 and ".cc:" in verbose.stderr


def test_an_unreachable_ray_says_so_and_where_the_address_came_from(tmp_path):
    done = _iog(tmp_path, "status", RAY_ADDRESS="127.0.0.1:1")
    assert done.returncode == 3
    assert "not reachable at 127.0.0.1:1 (from RAY_ADDRESS)" in done.stderr
    assert "refused the token" not in done.stderr and ".cc:" not in done.stderr


def test_rays_default_address_is_named_as_such() -> None:
    conn = RayConnection(address="127.0.0.1:6379")
    conn.address_source = "default"
    assert "Ray's default address" in conn.where and "no RAY_ADDRESS" in conn.where
    assert "default address" in conn.unavailable("x").message
