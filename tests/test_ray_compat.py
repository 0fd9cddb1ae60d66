"""The private Ray APIs iog_jupyter wraps still behave as it expects (fails loudly on upgrade)."""

from __future__ import annotations

import dataclasses

import pytest

from iog_jupyter.core import _ray_compat
from tests.ray_versions import CAPS, requires_token_auth

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


@requires_token_auth
def test_token_auth_puts_only_the_path_in_the_environment(ray_head):
    import os

    assert _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path) is True
    assert os.environ["RAY_AUTH_MODE"] == "token"
    assert os.environ["RAY_AUTH_TOKEN_PATH"] == ray_head.token_path
    token = open(ray_head.token_path).read().strip()
    assert token not in os.environ.values()
    # And the GCS accepts this process's calls with it.
    assert _ray_compat.get_cluster_status(ray_head.address, 5).cluster_resource_usage


@pytest.mark.skipif(CAPS.token_auth, reason="this Ray has token authentication")
def test_a_ray_without_token_auth_ignores_a_stale_token(ray_head):
    """Ray before 2.52: a token in Ray's places is ignored with a warning, never fatal or sent."""
    import os

    from iog_jupyter.core.connection import RayConnection

    before = dict(os.environ)
    assert _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path) is False
    assert dict(os.environ) == before
    conn = RayConnection()
    try:
        assert conn.token_info.token is not None and conn.auth_mode == "none"
        assert conn.auth_headers() == {}
        assert conn.describe().capabilities.token_auth is False
    finally:
        conn.close()


def test_capabilities_match_the_installed_ray():
    """Each capability is what the installed Ray really has (detected by feature, not version)."""
    import inspect

    import ray
    import ray._raylet
    from ray.autoscaler.v2 import schema
    from ray.job_submission import JobSubmissionClient

    caps = _ray_compat.capabilities()
    assert caps is _ray_compat.capabilities()  # detected once
    assert caps.version == ray.__version__
    assert caps.token_auth == hasattr(ray._raylet, "AuthenticationTokenLoader")
    labels = "labels" in {f.name for f in dataclasses.fields(schema.NodeInfo)}
    assert caps.node_labels == labels
    selector = (
        "entrypoint_label_selector" in inspect.signature(JobSubmissionClient.submit_job).parameters
    )
    assert caps.job_label_selector == selector
    assert caps.owner_cancel_rpc in ("RequestOwnerToCancelTask", "RemoteCancelTask")
    major, minor = (int(p) for p in ray.__version__.split(".")[:2])
    # Ray's own history: token auth arrived in 2.52; 2.40 had no node labels in this schema.
    assert caps.token_auth == ((major, minor) >= (2, 52))
    if (major, minor) < (2, 41):
        assert not caps.node_labels and not caps.task_state_filters
    notes = " ".join(caps.notes)
    assert ("no token authentication" in notes) is not caps.token_auth
    assert caps.model_dump(mode="json")["notes"] == caps.notes


def test_node_labels_are_read_or_fall_back_to_none(ray_head):
    """Where Ray reports labels they reach the snapshot; else each node's labels are empty and
    pools come from ``pool:<name>`` resources (the test head's stand-in pools)."""
    from iog_jupyter.core.cluster import get_cluster_snapshot
    from iog_jupyter.core.connection import RayConnection

    status = _ray_compat.get_cluster_status(ray_head.address, 5)
    raw = next(
        node
        for node in status.active_nodes + status.idle_nodes
        if any(u.resource_name == "node:__internal_head__" for u in node.resource_usage.usage)
    )
    labels = _ray_compat.node_labels(raw)
    if CAPS.node_labels:
        assert labels == dict(raw.labels or {})
        # Ray labels every node with its id.
        assert any(key.startswith("ray.io/") for key in labels), labels
    else:
        assert labels == {} and not hasattr(raw, "labels")
    conn = RayConnection()
    try:
        snapshot = get_cluster_snapshot(conn, include_usage=False)
    finally:
        conn.close()
    head = next(n for n in snapshot.nodes if n.is_head)
    assert head.labels == labels
    assert head.pool == "preprocess+serve+train"
    assert snapshot.totals["CPU"] == head.resources_total["CPU"] > 0


def test_gcs_errors_cover_what_rays_gcs_clients_raise():
    """Every error Ray's GCS clients turn a failed call into maps to "Ray unavailable"."""
    import grpc
    import ray.exceptions

    raised = [grpc.RpcError, RuntimeError, OSError, ConnectionResetError, TimeoutError]
    names = ("RpcError", "GetTimeoutError", "RaySystemError", "AuthenticationError")
    raised += [getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n)]
    assert all(issubclass(error, _ray_compat.gcs_errors()) for error in raised)
    assert not issubclass(ValueError, _ray_compat.gcs_errors())  # a bad argument is a bug to see
