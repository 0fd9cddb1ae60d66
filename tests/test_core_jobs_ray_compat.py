"""The private Ray APIs the jobs backend wraps: session dir, KV store, actor table (fail loudly)."""

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


def test_kv_put_scan_and_delete(ray_head):
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    ns = b"iog_jupyter_test"
    for i in range(3):
        _ray_compat.kv_put(ray_head.address, b"k:%d" % i, b"v%d" % i, ns, 5)
    _ray_compat.kv_put(ray_head.address, b"other", b"x", ns, 5)
    assert _ray_compat.kv_scan(ray_head.address, b"k:", ns, 5) == {
        b"k:0": b"v0",
        b"k:1": b"v1",
        b"k:2": b"v2",
    }
    assert _ray_compat.kv_del(ray_head.address, b"k:1", ns, 5) == 1
    assert _ray_compat.kv_del(ray_head.address, b"k:1", ns, 5) == 0
    assert set(_ray_compat.kv_scan(ray_head.address, b"k:", ns, 5)) == {b"k:0", b"k:2"}
    assert _ray_compat.kv_scan(ray_head.address, b"none:", ns, 5) == {}


def test_named_actors_are_listed_read_and_killed_through_the_gcs(ray_head, tmp_path):
    import subprocess
    import sys
    import time

    script = tmp_path / "driver.py"
    script.write_text(
        "import ray\n"
        f"ray.init(address={ray_head.address!r}, namespace='compat')\n"
        "@ray.remote(num_cpus=0)\n"
        "class A:\n"
        "    def ping(self): return 1\n"
        "a = A.options(name='keeper', lifetime='detached').remote()\n"
        "ray.get(a.ping.remote())\n"
    )
    subprocess.run(
        [sys.executable, str(script)], env={**os.environ, **ray_head.env()}, check=True, timeout=120
    )
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    assert ("compat", "keeper") in _ray_compat.list_named_actors(ray_head.address, 5)
    data = _ray_compat.named_actor(ray_head.address, "keeper", "compat", 5)
    assert data is not None and data.is_detached and data.class_name == "A"
    assert _ray_compat.actor_state_name(data) == "ALIVE"
    assert data.name == "keeper"
    assert _ray_compat.named_actor(ray_head.address, "keeper", "elsewhere", 5) is None
    _ray_compat.kill_actor(ray_head.address, data.actor_id, 5)
    end = time.monotonic() + 20
    while _ray_compat.named_actor(ray_head.address, "keeper", "compat", 5) is not None:
        assert time.monotonic() < end, "the killed actor kept its name"
        time.sleep(0.2)
    assert ("compat", "keeper") not in _ray_compat.list_named_actors(ray_head.address, 5)
