"""The one place where iog_jupyter touches Ray APIs that are not public.

Each function here is covered by ``tests/test_ray_compat.py`` against the installed Ray, so a
Ray upgrade that moves or changes one of them fails loudly there instead of silently elsewhere.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger(__name__)
_auth_lock = threading.Lock()
_import_lock = threading.Lock()
_imported = False


def import_ray() -> None:
    """Import the parts of Ray iog_jupyter uses, once, on one thread at a time.

    Ray's package has circular imports: two threads importing it for the first time at once
    (the cluster poller and a request's job call, say) can see a partially initialized module
    and fail. Every entry point that touches Ray calls this first; the server calls it at start.
    """
    global _imported
    if _imported:
        return
    with _import_lock:
        if _imported:
            return
        import ray  # noqa: F401
        import ray._raylet  # noqa: F401
        import ray.autoscaler.v2.sdk  # noqa: F401
        import ray.job_submission  # noqa: F401

        _imported = True


_auth_in_use: tuple[str, str] | None = None


def use_token_auth(token_source: str, token_path: str | None) -> None:
    """Make this process's Ray clients send the token iog found (what ``ray start`` does).

    Ray's clients read one token per process, from the environment and Ray's default file, so
    before each GCS call the connection says which token it found; the loader is reset only when
    that changes. Only the mode and the token's *path* go into the environment, never the token:
    kernels that the Jupyter server starts inherit its environment.

    Args:
        token_source: Where the token came from (``RAY_AUTH_TOKEN``, a path's origin, ...).
        token_path: The file the token was read from, or None when it came from the environment.
    """
    global _auth_in_use
    import_ray()
    key = (token_source, token_path or "")
    with _auth_lock:
        if _auth_in_use == key and os.environ.get("RAY_AUTH_MODE") == "token":
            return
        if _auth_in_use is not None:
            # One token per process: the newest connection's token wins.
            log.info("iog_jupyter: Ray clients now use the token from %s", token_source)
        os.environ["RAY_AUTH_MODE"] = "token"
        if token_path and token_source != "RAY_AUTH_TOKEN":
            os.environ["RAY_AUTH_TOKEN_PATH"] = token_path
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
        _auth_in_use = key


def kv_get(gcs_address: str, key: bytes, namespace: bytes, timeout_s: float) -> bytes | None:
    """Read one key of Ray's internal KV store without becoming a driver.

    Args:
        gcs_address: The GCS ``host:port``.
        key: The key, for example ``b"dashboard"``.
        namespace: The KV namespace, for example ``b"dashboard"``.
        timeout_s: Deadline Ray is asked to honour.

    Returns:
        The stored bytes, or None when the key is absent.
    """
    import_ray()
    from ray._raylet import GcsClient

    client = GcsClient(address=gcs_address)
    return client.internal_kv_get(key, namespace=namespace, timeout=timeout_s)


def get_cluster_status(gcs_address: str, timeout_s: float) -> Any:
    """What ``ray status`` asks the GCS: nodes, usage, labels and demands in one call.

    Returns:
        Ray's ``ray.autoscaler.v2.schema.ClusterStatus``.
    """
    import_ray()
    from ray.autoscaler.v2.sdk import get_cluster_status as _get_cluster_status

    return _get_cluster_status(gcs_address, timeout=max(1, int(timeout_s)))


def head_session_dir(gcs_address: str, timeout_s: float) -> str | None:
    """The head node's session dir (``<temp_dir>/session_<…>``), from the GCS node table.

    Ray keeps it in the head's ``GcsNodeInfo.session_dir`` (not in the KV store); this is how a
    ``ray start`` on a worker finds it. Job driver logs live in ``<session_dir>/logs/``.

    Returns:
        The path as the head node sees it, or None when no live head is registered.
    """
    import_ray()
    from ray._raylet import GcsClient
    from ray.core.generated.gcs_pb2 import GcsNodeInfo
    from ray.core.generated.gcs_service_pb2 import GetAllNodeInfoRequest

    selector = GetAllNodeInfoRequest.NodeSelector()
    selector.is_head_node = True
    client = GcsClient(address=gcs_address)
    infos = client.get_all_node_info(timeout=timeout_s, node_selectors=[selector])
    for info in infos.values():
        if info.state == GcsNodeInfo.GcsNodeState.ALIVE and info.session_dir:
            return str(info.session_dir)
    return None
