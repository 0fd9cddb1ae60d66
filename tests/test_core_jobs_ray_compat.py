"""The private Ray API the jobs backend wraps: the head's session dir (fails loudly on upgrade)."""

from __future__ import annotations

import os

import pytest

from iog_jupyter.core import _ray_compat

pytestmark = pytest.mark.ray


def test_head_session_dir_is_the_heads(ray_head):
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    session_dir = _ray_compat.head_session_dir(ray_head.address, 5)
    assert session_dir and session_dir.startswith(ray_head.temp_dir)
    assert os.path.isdir(os.path.join(session_dir, "logs"))
    assert os.path.realpath(session_dir) == os.path.realpath(
        os.path.join(ray_head.temp_dir, "session_latest")
    )
