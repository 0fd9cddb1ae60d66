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
    from ray._raylet import GcsClient

    client = GcsClient(address=gcs_address)
    return client.internal_kv_get(key, namespace=namespace, timeout=timeout_s)


def get_cluster_status(gcs_address: str, timeout_s: float) -> Any:
    """What ``ray status`` asks the GCS: nodes, usage, labels and demands in one call.

    Returns:
        Ray's ``ray.autoscaler.v2.schema.ClusterStatus``.
    """
    from ray.autoscaler.v2.sdk import get_cluster_status as _get_cluster_status

    return _get_cluster_status(gcs_address, timeout=max(1, int(timeout_s)))
