"""``iog_jupyter.actors`` in real Jupyter kernels: survive a kernel, reattach, race safely."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iog_jupyter.core import _ray_compat
from iog_jupyter.core.actors import gcs as actor_registry
from iog_jupyter.core.errors import RayUnavailableError
from tests.fixtures import kernel_manager

pytestmark = pytest.mark.ray

TIMEOUT_S = 180

SETUP = """
import json, ray
from iog_jupyter import actors

@ray.remote(num_cpus=0)
class Counter:
    def __init__(self):
        self.value = 0
    def incr(self):
        self.value += 1
        return self.value

ray.init(log_to_driver=False)
"""


class Kernel:
    """A real IPython kernel on this interpreter, with the repository importable."""

    def __init__(self, tmp_path: Path, label: str) -> None:
        self.km = kernel_manager(tmp_path / label / "kernels")
        # Named as Jupyter Server names it: kernel-<kernel id>.json.
        self.kernel_id = str(uuid.uuid4())
        self.km.connection_file = str(tmp_path / label / f"kernel-{self.kernel_id}.json")
        self.km.start_kernel(cwd=str(tmp_path))
        self.client = self.km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=TIMEOUT_S)

    def send(self, code: str) -> str:
        """Start running ``code``; returns the request's message id (does not wait)."""
        return self.client.execute(code, store_history=False)

    def collect(self, msg_id: str) -> str:
        """Everything the request printed, once it is idle; fails on an error."""
        out: list[str] = []
        while True:
            msg = self.client.get_iopub_msg(timeout=TIMEOUT_S)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"])[-3000:])
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)

    def run(self, code: str) -> str:
        return self.collect(self.send(code))

    def run_json(self, code: str) -> Any:
        """Run ``code``, whose last printed line is JSON."""
        return json.loads(self.run(code).strip().splitlines()[-1])

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.km.shutdown_kernel(now=False)


@pytest.fixture
def kernels(tmp_path) -> Iterator[Any]:
    started: list[Kernel] = []

    def start(label: str) -> Kernel:
        kernel = Kernel(tmp_path, label)
        started.append(kernel)
        return kernel

    try:
        yield start
    finally:
        for kernel in started:
            if kernel.km.is_alive():
                kernel.shutdown()


def test_functions_need_ray_initialized():
    from iog_jupyter import actors

    with pytest.raises(RayUnavailableError, match=r"iog_jupyter.connect\(\)"):
        actors.list_detached()
    with pytest.raises(RayUnavailableError, match="ray.init"):
        actors.attach("x")


def test_actor_outlives_its_kernel_and_two_kernels_race_to_one_actor(kernels, ray_head):
    ns = f"iogk-{uuid.uuid4().hex[:8]}"
    first = kernels("first")
    first.run(SETUP)
    made = first.run_json(
        f"h = actors.get_or_create(Counter, 'survivor', namespace={ns!r}, ttl_s=600)\n"
        "print(json.dumps({'value': ray.get(h.incr.remote()), 'id': h._actor_id.hex()}))"
    )
    assert made["value"] == 1
    first.shutdown()
    assert not first.km.is_alive()

    second, third = kernels("second"), kernels("third")
    ids = [second.send(SETUP), third.send(SETUP)]
    second.collect(ids[0])
    third.collect(ids[1])
    # The actor and its state survived the kernel that made it; another kernel reattaches.
    again = second.run_json(
        f"h = actors.attach('survivor', namespace={ns!r})\n"
        "print(json.dumps({'value': ray.get(h.incr.remote()), 'id': h._actor_id.hex()}))"
    )
    assert again == {"value": 2, "id": made["id"]}
    listed = second.run_json(
        f"print(json.dumps([a.model_dump(mode='json') for a in actors.list_detached({ns!r})]))"
    )
    assert [(a["name"], a["state"]) for a in listed] == [("survivor", "ALIVE")]
    assert listed[0]["kernel_id"] == first.kernel_id and listed[0]["ttl_s"] == 600
    assert listed[0]["owner"] and listed[0]["class_name"] == "Counter"

    # Two kernels ask for the same actor at the same moment: one actor, both get it.
    race = (
        f"h = actors.get_or_create(Counter, 'raced', namespace={ns!r}, ttl_s=300)\n"
        "print(json.dumps({'value': ray.get(h.incr.remote()), 'id': h._actor_id.hex()}))"
    )
    pending = [(second, second.send(race)), (third, third.send(race))]
    results = [json.loads(k.collect(m).strip().splitlines()[-1]) for k, m in pending]
    assert results[0]["id"] == results[1]["id"]
    assert sorted(r["value"] for r in results) == [1, 2]
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    named = [k for k in _ray_compat.list_named_actors(ray_head.address, 10) if k[0] == ns]
    assert sorted(named) == [(ns, "raced"), (ns, "survivor")]
    meta = actor_registry.read_meta(ray_head.address, ns, "raced", 10)
    assert meta.actor_id == results[0]["id"]
    assert meta.kernel_id in (second.kernel_id, third.kernel_id)

    # touch pushes the expiry; kill from a kernel ends the actor and its record.
    touched = second.run_json(
        f"m = actors.touch('raced', namespace={ns!r}, ttl_s=900)\n"
        "print(json.dumps({'ttl_s': m.ttl_s, 'expires_ms': m.expires_ms}))"
    )
    assert touched["ttl_s"] == 900 and touched["expires_ms"] > meta.expires_ms
    third.run(f"actors.kill('raced', namespace={ns!r}); actors.kill('survivor', namespace={ns!r})")
    assert actor_registry.read_meta(ray_head.address, ns, "raced", 10) is None
    refused = third.run(
        "from iog_jupyter.core.errors import ForbiddenError\n"
        "try:\n"
        "    actors.get_or_create(Counter, 'x', namespace='iog_jupyter')\n"
        "except ForbiddenError as err:\n"
        "    print('refused:', err.message)\n"
    )
    assert refused.startswith("refused:") and "iog_jupyter" in refused
    # No namespace given and an anonymous driver namespace (bare ray.init()): "default".
    name = f"anon-{uuid.uuid4().hex[:8]}"
    where = third.run_json(
        f"h = actors.get_or_create(Counter, {name!r})\n"
        f"print(json.dumps([a.namespace for a in actors.list_detached('default') "
        f"if a.name == {name!r}]))\n"
        f"actors.kill({name!r})"
    )
    assert where == ["default"]
