"""Address and token discovery, and the GCS probe, of core.connection."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from concurrent import futures

import pytest

from iog_jupyter.core import _ray_compat
from iog_jupyter.core.cluster import fetch_cluster_status
from iog_jupyter.core.connection import (
    RayConnection,
    find_ray_token,
    normalize_gcs_address,
    resolve_gcs_address,
)
from iog_jupyter.core.errors import RayUnavailableError, ValidationError
from iog_jupyter.core.local_head import ensure_token_file, free_port
from tests.ray_versions import CAPS


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "raytmp"))
    return tmp_path


def test_address_order(clean_env, monkeypatch):
    assert resolve_gcs_address(None) == ("127.0.0.1:6379", "default")
    (clean_env / "raytmp").mkdir()
    (clean_env / "raytmp" / "ray_current_cluster").write_text("10.0.0.5:6380\n")
    assert resolve_gcs_address(None) == ("10.0.0.5:6380", "ray_current_cluster")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:7000")
    assert resolve_gcs_address("auto") == ("127.0.0.1:7000", "RAY_ADDRESS")
    assert resolve_gcs_address("127.0.0.1:7001") == ("127.0.0.1:7001", "configuration")


@pytest.mark.parametrize(
    "bad", ["ray://head:10001", "http://head:8265", "head", "head:port", "head:70000", ":6379"]
)
def test_bad_addresses_are_refused_with_a_reason(bad):
    with pytest.raises(ValidationError) as info:
        normalize_gcs_address(bad)
    assert "host:port" in info.value.message or "Ray Client" in info.value.message


def test_token_order_and_permissions(clean_env, monkeypatch):
    assert find_ray_token().token is None
    home_token = clean_env / "home" / ".ray" / "auth_token"
    home_token.parent.mkdir(parents=True)
    home_token.write_text("home-token\n")
    os.chmod(home_token, 0o644)
    found = find_ray_token()
    assert (found.token, found.source, found.world_readable) == (
        "home-token",
        "~/.ray/auth_token",
        True,
    )
    path_token = ensure_token_file(clean_env / "explicit" / "tok")
    assert stat.S_IMODE(path_token.stat().st_mode) == 0o600
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(path_token))
    found = find_ray_token()
    assert found.source == "RAY_AUTH_TOKEN_PATH" and found.world_readable is False
    monkeypatch.setenv("RAY_AUTH_TOKEN", "env-token")
    assert find_ray_token().source == "RAY_AUTH_TOKEN"
    # An explicit path (the trait) wins over everything.
    assert find_ray_token(str(home_token)).token == "home-token"


def test_token_never_in_repr_or_describe(clean_env, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "s3cret-token-value")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    conn = RayConnection()
    assert "s3cret" not in repr(conn.token_info)
    assert "s3cret" not in str(conn.describe())
    # A Ray without token auth (before 2.52) ignores the token: it is neither sent nor claimed.
    assert conn.describe().auth_mode == ("token" if CAPS.token_auth else "none")
    bearer = {"Authorization": "Bearer s3cret-token-value"}
    assert conn.auth_headers() == (bearer if CAPS.token_auth else {})


def test_probe_of_a_closed_port_is_fast_and_says_how_to_start(clean_env, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    conn = RayConnection(connect_timeout_s=0.5)
    with pytest.raises(RayUnavailableError) as info:
        conn.probe()
    assert conn.address in info.value.message
    assert "RAY_ADDRESS" in info.value.message
    assert "iog up" in info.value.message


@pytest.mark.ray
def test_dashboard_url_is_read_from_the_gcs(ray_head):
    conn = RayConnection()
    assert conn.dashboard_url == ray_head.dashboard_url
    assert conn.dashboard_get("/api/version")["ray_version"]


#: Ray's status code for a failure of the GCS's storage (``StatusCode::RedisError``).
REDIS_ERROR = 11


@pytest.fixture
def failing_gcs() -> Iterator[str]:
    """A stand-in GCS on loopback whose KV store fails, as a GCS answers when its Redis is down,
    and which dies in the middle of a cluster-status or named-actors call. Its address."""
    import grpc
    from ray.core.generated import autoscaler_pb2_grpc, gcs_service_pb2, gcs_service_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(4))

    class Nodes(gcs_service_pb2_grpc.NodeInfoGcsServiceServicer):
        def GetClusterId(self, request, context):
            return gcs_service_pb2.GetClusterIdReply(cluster_id=os.urandom(28))

    class KV(gcs_service_pb2_grpc.InternalKVGcsServiceServicer):
        def InternalKVGet(self, request, context):
            reply = gcs_service_pb2.InternalKVGetReply()
            reply.status.code, reply.status.message = REDIS_ERROR, "storage unavailable"
            return reply

    def die(request, context):
        server.stop(0)
        context.abort(grpc.StatusCode.UNAVAILABLE, "the GCS is gone")

    class Autoscaler(autoscaler_pb2_grpc.AutoscalerStateServiceServicer):
        GetClusterStatus = staticmethod(die)

    class Actors(gcs_service_pb2_grpc.ActorInfoGcsServiceServicer):
        ListNamedActors = staticmethod(die)

    gcs_service_pb2_grpc.add_NodeInfoGcsServiceServicer_to_server(Nodes(), server)
    gcs_service_pb2_grpc.add_InternalKVGcsServiceServicer_to_server(KV(), server)
    gcs_service_pb2_grpc.add_ActorInfoGcsServiceServicer_to_server(Actors(), server)
    autoscaler_pb2_grpc.add_AutoscalerStateServiceServicer_to_server(Autoscaler(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


@pytest.mark.ray  # no head, but Ray's client: run on the oldest Ray too
def test_a_gcs_that_fails_a_call_is_unavailable_not_a_crash(failing_gcs, monkeypatch):
    monkeypatch.delenv("RAY_DASHBOARD_ADDRESS", raising=False)
    conn = RayConnection(address=failing_gcs, request_timeout_s=2.0)
    try:
        with pytest.raises(RayUnavailableError) as info:
            conn.gcs_call(_ray_compat.kv_get, b"key", b"ns", 2.0)
        assert failing_gcs in info.value.message and "storage unavailable" in info.value.message
        with pytest.raises(RayUnavailableError):
            conn.dashboard_url  # noqa: B018 - read from the GCS's KV store
    finally:
        conn.close()


@pytest.mark.ray
@pytest.mark.parametrize("call", ["status", "stub"])
def test_a_gcs_that_dies_mid_call_is_unavailable_at_once(failing_gcs, call):
    conn = RayConnection(address=failing_gcs, request_timeout_s=2.0)
    started = time.monotonic()
    try:
        with pytest.raises(RayUnavailableError) as info:
            if call == "status":  # Ray's GcsClient
                fetch_cluster_status(conn)
            else:  # a gRPC stub
                conn.gcs_call(_ray_compat.list_named_actors, 2.0)
    finally:
        conn.close()
    assert failing_gcs in info.value.message and "iog up" in info.value.message
    # Not asked again (for its version) once gone or slow: Ray's client would wait 40 s there.
    assert time.monotonic() - started < 10
