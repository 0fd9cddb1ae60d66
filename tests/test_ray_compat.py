"""The private Ray APIs iog_jupyter wraps still behave as it expects (fails loudly on upgrade)."""

from __future__ import annotations

import dataclasses

import pytest

from iog_jupyter.core import _ray_compat

pytestmark = pytest.mark.ray


def test_kv_get_reads_the_dashboard_address(ray_head):
    value = _ray_compat.kv_get(ray_head.address, b"dashboard", b"dashboard", 5)
    assert value == f"127.0.0.1:{ray_head.dashboard_port}".encode()
    assert _ray_compat.kv_get(ray_head.address, b"no-such-key", b"iog_jupyter", 5) is None


def test_cluster_status_has_the_fields_build_snapshot_reads(ray_head):
    status = _ray_compat.get_cluster_status(ray_head.address, 5)
    names = {f.name for f in dataclasses.fields(status)}
    assert {
        "active_nodes",
        "idle_nodes",
        "pending_nodes",
        "failed_nodes",
        "cluster_resource_usage",
        "resource_demands",
    } <= names
    node = (status.active_nodes + status.idle_nodes)[0]
    assert node.node_id and node.resource_usage is not None
    assert {u.resource_name for u in node.resource_usage.usage} >= {"CPU", "memory"}
    demands = status.resource_demands
    for attr in ("ray_task_actor_demand", "placement_group_demand", "cluster_constraint_demand"):
        assert isinstance(getattr(demands, attr), list)


def test_token_auth_puts_only_the_path_in_the_environment(ray_head):
    import os

    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    assert os.environ["RAY_AUTH_MODE"] == "token"
    assert os.environ["RAY_AUTH_TOKEN_PATH"] == ray_head.token_path
    token = open(ray_head.token_path).read().strip()
    assert token not in os.environ.values()
    # And the GCS accepts this process's calls with it.
    assert _ray_compat.get_cluster_status(ray_head.address, 5).cluster_resource_usage
