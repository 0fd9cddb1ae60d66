"""The GCS without becoming a driver: the KV store, cluster status, nodes and the actor table."""

from __future__ import annotations

import threading
from typing import Any

from .capabilities import capabilities, import_ray


def gcs_client(gcs_address: str) -> Any:
    import_ray()
    from ray._raylet import GcsClient

    return GcsClient(address=gcs_address)


def kv_get(gcs_address: str, key: bytes, namespace: bytes, timeout_s: float) -> bytes | None:
    """Read one key of Ray's internal KV store (None when absent) without becoming a driver."""
    return gcs_client(gcs_address).internal_kv_get(key, namespace=namespace, timeout=timeout_s)


def kv_put(
    gcs_address: str,
    key: bytes,
    value: bytes,
    namespace: bytes,
    timeout_s: float,
    overwrite: bool = True,
) -> bool:
    """Write one key of Ray's internal KV store; True when the key was absent.

    With ``overwrite=False`` a value already there is kept (first writer wins, atomically in
    the GCS): False then says this call wrote nothing.
    """
    added = gcs_client(gcs_address).internal_kv_put(
        key, value, overwrite, namespace=namespace, timeout=timeout_s
    )
    return int(added) == 1


def kv_del(gcs_address: str, key: bytes, namespace: bytes, timeout_s: float) -> int:
    """Delete one key; returns how many were deleted."""
    return int(
        gcs_client(gcs_address).internal_kv_del(key, False, namespace=namespace, timeout=timeout_s)
    )


def kv_scan(gcs_address: str, prefix: bytes, namespace: bytes, timeout_s: float) -> dict:
    """Every key under ``prefix`` with its value, in two GCS calls."""
    keys = gcs_client(gcs_address).internal_kv_keys(prefix, namespace=namespace, timeout=timeout_s)
    return kv_multi_get(gcs_address, keys, namespace, timeout_s)


def kv_multi_get(
    gcs_address: str, keys: list[bytes], namespace: bytes, timeout_s: float
) -> dict[bytes, bytes]:
    """The present ones of ``keys`` with their values, in one GCS call (Ray 2.40 has it)."""
    if not keys:
        return {}
    client = gcs_client(gcs_address)
    return dict(client.internal_kv_multi_get(keys, namespace=namespace, timeout=timeout_s))


def get_cluster_status(gcs_address: str, timeout_s: float) -> Any:
    """What ``ray status`` asks the GCS: Ray's ``ClusterStatus`` (labels where Ray has them)."""
    import_ray()
    from ray.autoscaler.v2.sdk import get_cluster_status as _get_cluster_status

    return _get_cluster_status(gcs_address, timeout=max(1, int(timeout_s)))


def node_labels(node_info: Any) -> dict[str, str]:
    """A node's labels from ``ClusterStatus``'s ``NodeInfo``; empty where Ray has none."""
    if not capabilities().node_labels:
        return {}
    return dict(getattr(node_info, "labels", None) or {})


def _alive(info: Any) -> bool:
    from ray.core.generated.gcs_pb2 import GcsNodeInfo

    return bool(info.state == GcsNodeInfo.GcsNodeState.ALIVE)


def head_session_dir(gcs_address: str, timeout_s: float) -> str | None:
    """The head node's session dir (``<temp_dir>/session_<…>``).

    Newer Rays keep it in the head's ``GcsNodeInfo.session_dir`` (how a ``ray start`` on a
    worker finds it); older ones in the KV store. Job driver logs live in ``<session_dir>/logs/``.
    The path is as the head node sees it; None when no live head is registered.
    """
    caps = capabilities()
    if not caps.node_session_dir:  # older Rays keep it in the KV store
        value = kv_get(gcs_address, b"session_dir", b"session", timeout_s)
        return value.decode() if value else None
    client = gcs_client(gcs_address)
    if caps.node_selectors:
        from ray.core.generated.gcs_service_pb2 import GetAllNodeInfoRequest

        selector = GetAllNodeInfoRequest.NodeSelector()
        selector.is_head_node = True
        infos = client.get_all_node_info(timeout=timeout_s, node_selectors=[selector])
    else:
        infos = client.get_all_node_info(timeout=timeout_s)
    for info in infos.values():
        if info.is_head_node and _alive(info) and info.session_dir:
            return str(info.session_dir)
    return None


def alive_node_ips(gcs_address: str, timeout_s: float) -> list[str]:
    """The ``node_manager_address`` of every alive node (``127.0.0.1`` for a loopback head)."""
    infos = gcs_client(gcs_address).get_all_node_info(timeout=timeout_s)
    return [str(info.node_manager_address) for info in infos.values() if _alive(info)]


def gcs_errors() -> tuple[type[BaseException], ...]:
    """What a GCS call here may raise when the GCS is down, slow, dies mid-call or refuses us.

    gRPC stubs raise ``grpc.RpcError``; Ray's ``GcsClient`` (the KV store, ``get_cluster_status``)
    turns a failed status into a ``ray.exceptions.RayError``: ``RpcError`` (timeouts too),
    ``GetTimeoutError``, ``AuthenticationError`` (a refused token, on Rays with token auth) or
    ``RaySystemError`` (any other status), or into an ``OSError`` (an I/O status); a failed reply
    status of a stub is a ``RuntimeError`` (:func:`check_reply`).
    """
    import_ray()
    import grpc
    from ray.exceptions import RayError

    return (grpc.RpcError, RayError, RuntimeError, OSError)


def check_reply(reply: Any, what: str) -> None:
    """Raise ``RuntimeError`` when a GCS reply's status says the call failed."""
    status = getattr(reply, "status", None)
    if status is not None and status.code != 0:
        raise RuntimeError(f"GCS {what} failed: {status.message}")


# -- gRPC stubs over one cached channel per GCS address ----------------------------------------

_channels: dict[str, Any] = {}
_channels_lock = threading.Lock()


def gcs_stub(gcs_address: str, service: str) -> Any:
    """A stub of one GCS service (``ActorInfoGcsService``, ...) over one cached channel.

    Ray's own ``create_gcs_channel`` adds the token-auth interceptor where token auth is on.
    """
    import_ray()
    from ray._private.gcs_utils import create_gcs_channel
    from ray.core.generated import gcs_service_pb2_grpc

    with _channels_lock:
        channel = _channels.get(gcs_address)
        if channel is None:
            channel = _channels[gcs_address] = create_gcs_channel(gcs_address)
    return getattr(gcs_service_pb2_grpc, f"{service}Stub")(channel)


def _actor_stub(gcs_address: str) -> Any:
    return gcs_stub(gcs_address, "ActorInfoGcsService")


# -- the actor table -----------------------------------------------------------------------------


def list_named_actors(
    gcs_address: str, timeout_s: float, namespace: str | None = None
) -> list[tuple[str, str]]:
    """``(namespace, name)`` of every named actor that is not dead, in all namespaces or one.

    The GCS keeps these in their own map, so the call does not grow with dead actors (one
    reply holding every name: there is no paging in Ray's ``ListNamedActors``). ``namespace``:
    only its names (the GCS picks them); None: every namespace.
    """
    from ray.core.generated import gcs_service_pb2

    request = gcs_service_pb2.ListNamedActorsRequest(
        all_namespaces=namespace is None, ray_namespace=namespace or ""
    )
    reply = _actor_stub(gcs_address).ListNamedActors(request, timeout=timeout_s)
    check_reply(reply, "ListNamedActors")
    return [(a.ray_namespace, a.name) for a in reply.named_actors_list]


def named_actor(gcs_address: str, name: str, namespace: str, timeout_s: float) -> Any | None:
    """The GCS's ``ActorTableData`` of a named actor, or None when no live one has the name."""
    return named_actors_info(gcs_address, [(namespace, name)], timeout_s)[(namespace, name)]


def named_actors_info(
    gcs_address: str, keys: list[tuple[str, str]], timeout_s: float
) -> dict[tuple[str, str], Any | None]:
    """``ActorTableData`` of many ``(namespace, name)`` keys, one concurrent RPC each.

    Each key maps to its actor's table data, or None when no live actor has the name.
    """
    from ray.core.generated import gcs_service_pb2

    stub = _actor_stub(gcs_address)
    futures = {
        key: stub.GetNamedActorInfo.future(
            gcs_service_pb2.GetNamedActorInfoRequest(name=key[1], ray_namespace=key[0]),
            timeout=timeout_s,
        )
        for key in keys
    }
    found: dict[tuple[str, str], Any | None] = {}
    for key, future in futures.items():
        reply = future.result()
        found[key] = reply.actor_table_data if reply.status.code == 0 else None  # else NotFound
    return found


def actor_state_name(data: Any) -> str:
    """``ALIVE``, ``PENDING_CREATION``, ``DEAD``, ... of an ``ActorTableData``."""
    from ray.core.generated.gcs_pb2 import ActorTableData

    return ActorTableData.ActorState.Name(data.state)


def kill_actor(gcs_address: str, actor_id: bytes, timeout_s: float) -> None:
    """Kill an actor through the GCS, no restart (what ``ray.kill`` asks), pending ones included."""
    from ray.core.generated import gcs_service_pb2

    reply = _actor_stub(gcs_address).KillActorViaGcs(
        gcs_service_pb2.KillActorViaGcsRequest(actor_id=actor_id, force_kill=True, no_restart=True),
        timeout=timeout_s,
    )
    check_reply(reply, "KillActorViaGcs")


def list_actors(
    gcs_address: str,
    timeout_s: float,
    state: str | None = None,
    job_id: bytes | None = None,
    limit: int | None = None,
) -> list[Any]:
    """``ActorTableData`` of the actors in one state (``ALIVE``, ...) and/or of one job.

    The GCS filters before replying, so asking for ``ALIVE`` actors does not carry the dead;
    with ``limit`` it stops there, in no particular order.
    """
    from ray.core.generated import gcs_service_pb2
    from ray.core.generated.gcs_pb2 import ActorTableData

    filters = gcs_service_pb2.GetAllActorInfoRequest.Filters()
    if state is not None:
        filters.state = ActorTableData.ActorState.Value(state)
    if job_id is not None:
        filters.job_id = job_id
    request = gcs_service_pb2.GetAllActorInfoRequest(show_dead_jobs=False, filters=filters)
    if limit is not None:
        request.limit = limit
    reply = _actor_stub(gcs_address).GetAllActorInfo(request, timeout=timeout_s)
    check_reply(reply, "GetAllActorInfo")
    return list(reply.actor_table_data)
