"""``connect()`` and ``keep_alive()``: a notebook kernel becomes a Ray driver iog can attribute.

``connect()`` calls ``ray.init`` with the cluster's address (found as the server finds it), a
namespace, and metadata on the driver's job (kernel id, notebook path, user) that the Jupyter
server's sessions view reads from the GCS job table. It works in any kernel: Jupyter Server
sets ``JPY_SESSION_NAME`` to the notebook's path, VS Code puts it in ``__vsc_ipynb_file__``.

The Ray token is never copied into the environment: only ``RAY_AUTH_MODE`` and the token
file's path are, as ``ray start`` does.
"""

from __future__ import annotations

import getpass
import ipaddress
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

from .. import _ray_compat
from ..connection import find_ray_token, resolve_gcs_address
from ..errors import ValidationError

log = logging.getLogger(__name__)

#: Keys ``connect()`` puts in the driver's ``JobConfig.metadata``.
META_KIND = "iog_kind"
META_KERNEL_ID = "iog_kernel_id"
META_NOTEBOOK_PATH = "iog_notebook_path"
META_USER = "iog_user"
META_CLIENT = "iog_client"

#: Ray KV namespace and key prefix of keep-alive exemptions (``keep_alive:<job id hex>``).
KV_NAMESPACE = b"iog_jupyter"
KEEP_ALIVE_PREFIX = "keep_alive:"
MAX_KEEP_ALIVE_HOURS = 7 * 24.0
_KERNEL_FILE_RE = re.compile(r"^kernel-(?P<id>[A-Za-z0-9_.-]{1,128})\.json$")
_NAMESPACE_RE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class DriverInfo:
    """What ``connect()`` made of this process: its Ray job and how iog attributes it.

    ``job_id`` (hex) is also its session id in iog; ``address`` is the GCS connected to;
    ``kernel_id`` and ``notebook_path`` are None where unknown; ``user`` is
    ``JUPYTERHUB_USER`` or the OS user; ``client`` is ``jupyter``, ``vscode`` or ``python``.
    """

    job_id: str
    namespace: str
    address: str
    kernel_id: str | None
    notebook_path: str | None
    user: str
    client: str


def in_kernel() -> bool:
    """Whether this process is a running IPython kernel (Jupyter, VS Code, nbclient...)."""
    # A running kernel has loaded its app; never import it here: importing ipykernel's kernel
    # patches ``comm``, and widgets made before would then fail to close.
    kernelapp = sys.modules.get("ipykernel.kernelapp")
    if kernelapp is None:
        return False
    # Another Jupyter application (a server, in tests) may hold the shared singleton slot.
    app_class = kernelapp.IPKernelApp
    return isinstance(getattr(app_class, "_instance", None), app_class)


def kernel_id() -> str | None:
    """This kernel's id, from its connection file (``kernel-<id>.json``); None outside one."""
    if not in_kernel():
        return None
    try:
        from ipykernel import get_connection_file

        name = os.path.basename(get_connection_file())
    except (RuntimeError, AttributeError, ImportError, OSError):
        return None
    match = _KERNEL_FILE_RE.match(name)
    return match.group("id") if match else None


def _user_ns() -> dict[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return dict(getattr(shell, "user_ns", None) or {})


def notebook_path() -> tuple[str | None, str]:
    """The notebook's path and the frontend: ``JPY_SESSION_NAME`` or VS Code's variable."""
    vscode = _user_ns().get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return vscode, "vscode"
    name = os.environ.get("JPY_SESSION_NAME", "").strip()
    if name:
        return name, "jupyter"
    return None, "jupyter" if in_kernel() else "python"


def current_user() -> str:
    """``JUPYTERHUB_USER`` when set, else the OS user."""
    return os.environ.get("JUPYTERHUB_USER", "").strip() or getpass.getuser()


def default_namespace(user: str) -> str:
    """The user's namespace (``nb-<user>``): a user's notebooks share named actors."""
    return "nb-" + _NAMESPACE_RE.sub("_", user)[:60]


def driver_metadata() -> dict[str, str]:
    """The ``JobConfig.metadata`` ``connect()`` gives the driver (strings only)."""
    path, client = notebook_path()
    kind = "notebook" if in_kernel() or path else "script"
    meta = {META_KIND: kind, META_USER: current_user(), META_CLIENT: client}
    kid = kernel_id()
    if kid:
        meta[META_KERNEL_ID] = kid
    if path:
        meta[META_NOTEBOOK_PATH] = path[:1024]
    return meta


def _say(line: str) -> None:
    """The autoscaler's infeasible-request warning, once, in words."""
    found = re.search(r"(\{[^{}]*\})", line)
    request = found.group(1) if found else "a task or actor's resources"
    print(
        f"iog_jupyter: Ray cannot place a request for {request}: no node of this cluster has "
        "those resources free or at all, and this cluster does not add nodes. It waits until "
        "they are free (or never, if no node has them); see the cluster view. Ray repeats "
        "this warning every few seconds; iog_jupyter shows it once.",
        file=sys.stderr,
        flush=True,
    )


def _prepare_environment(address: str) -> dict[str, Any]:
    """Token mode and path for Ray's clients, and loopback extra kwargs for ``ray.init``."""
    extra: dict[str, Any] = {}
    token = find_ray_token()
    if token.token is not None and not os.environ.get("RAY_AUTH_MODE"):
        os.environ["RAY_AUTH_MODE"] = "token"
        if token.path and token.source != "RAY_AUTH_TOKEN":
            os.environ["RAY_AUTH_TOKEN_PATH"] = token.path
    host = address.rpartition(":")[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback and "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ:
        # A single-node head registers its raylet as 127.0.0.1; Ray's driver would look for it
        # at the host's address (what RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 avoids).
        try:
            if "127.0.0.1" in _ray_compat.alive_node_ips(address, 5.0):
                extra["_node_ip_address"] = "127.0.0.1"
        except _ray_compat.gcs_errors() as err:
            log.debug("iog_jupyter: could not read the node table: %s", type(err).__name__)
    return extra


def connect(**ray_init_kwargs: Any) -> DriverInfo:
    """Make this kernel a Ray driver that iog's sessions view attributes to its notebook.

    Calls ``ray.init`` with the cluster's GCS address (``RAY_ADDRESS``, then the newest local
    ``ray start``), the namespace ``nb-<user>`` and ``JobConfig.metadata`` naming the kernel
    id, notebook path and user. Idempotent: when Ray is already initialized in this process
    it only reports the driver. Ray's repeated "no node type can fulfill" warnings are shown
    once, in words.

    Args:
        **ray_init_kwargs: Passed to ``ray.init`` (``address``, ``namespace``,
            ``runtime_env``, ``job_config``...); a given ``job_config`` keeps its metadata and
            gains iog's keys.

    Returns:
        The driver's job id, namespace, address and how it is attributed.

    Example:
        >>> import iog_jupyter  # doctest: +SKIP
        >>> iog_jupyter.connect().job_id  # doctest: +SKIP
        '03000000'
    """
    _ray_compat.import_ray()
    import ray
    from ray.job_config import JobConfig

    meta = driver_metadata()
    if not ray.is_initialized():
        address, _ = resolve_gcs_address(ray_init_kwargs.pop("address", None))
        kwargs: dict[str, Any] = _prepare_environment(address)
        kwargs.update(ray_init_kwargs)
        kwargs.setdefault("namespace", default_namespace(meta[META_USER]))
        job_config = kwargs.pop("job_config", None) or JobConfig()
        for key, value in meta.items():
            job_config.metadata.setdefault(key, value)
        ray.init(address=address, job_config=job_config, **kwargs)
    elif ray_init_kwargs:
        log.info("iog_jupyter: Ray is already initialized; connect() ignores its arguments")
    _ray_compat.quiet_infeasible_warnings(_say)
    context = ray.get_runtime_context()
    return DriverInfo(
        job_id=context.get_job_id(),
        namespace=context.namespace,
        address=context.gcs_address,
        kernel_id=meta.get(META_KERNEL_ID),
        notebook_path=meta.get(META_NOTEBOOK_PATH),
        user=meta[META_USER],
        client=meta[META_CLIENT],
    )


def keep_alive(hours: float = 1.0) -> float | None:
    """Exempt this notebook's session from the idle policy for ``hours`` (0 ends it).

    The exemption is kept in Ray's KV store (namespace ``iog_jupyter``, key
    ``keep_alive:<job id>``), where the Jupyter server's idle policy reads it; the server may
    cap how long it honours one (``IogJupyterApp.idle_keep_alive_max_s``). Calls
    :func:`connect` first when this process is not a Ray driver yet.

    Args:
        hours: How long, from now; at most one week.

    Returns:
        The exemption's end as epoch seconds, or None when it was ended.

    Raises:
        ValidationError: ``hours`` is negative, not a number, or over a week.
    """
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise ValidationError(f"keep_alive(hours=...) takes a number, not {hours!r}.")
    if not 0 <= float(hours) <= MAX_KEEP_ALIVE_HOURS:
        raise ValidationError(
            f"keep_alive(hours={hours}) must be between 0 (end the exemption) and "
            f"{MAX_KEEP_ALIVE_HOURS:g} hours."
        )
    info = connect()
    key = (KEEP_ALIVE_PREFIX + info.job_id).encode()
    if float(hours) == 0:
        _ray_compat.kv_del(info.address, key, KV_NAMESPACE, 10.0)
        return None
    now = time.time()
    until = now + float(hours) * 3600
    record = {
        "until_ms": int(until * 1000),
        "set_ms": int(now * 1000),
        "user": info.user,
        "kernel_id": info.kernel_id,
    }
    _ray_compat.kv_put(info.address, key, json.dumps(record).encode(), KV_NAMESPACE, 10.0)
    return until
