"""Point this process's Ray clients at the token iog found, where the installed Ray has tokens."""

from __future__ import annotations

import logging
import os
import threading

from .capabilities import capabilities, import_ray

log = logging.getLogger(__name__)
_auth_lock = threading.Lock()
_auth_in_use: tuple[str, str] | None = None


def use_token_auth(token_source: str, token_path: str | None) -> bool:
    """Make this process's Ray clients send the token iog found (what ``ray start`` does).

    Ray's clients read one token per process, from the environment and Ray's default file, so
    before each GCS call the connection says which token it found; the loader is reset only when
    that changes. Only the mode and the token's *path* go into the environment, never the token:
    kernels that the Jupyter server starts inherit its environment.

    ``token_path`` is None when the token came from the environment (``token_source``). False
    when the installed Ray has no token authentication (before 2.52): nothing to send.
    """
    global _auth_in_use
    import_ray()
    if not capabilities().token_auth:
        return False
    key = (token_source, token_path or "")
    with _auth_lock:
        if _auth_in_use == key and os.environ.get("RAY_AUTH_MODE") == "token":
            return True
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
    return True
