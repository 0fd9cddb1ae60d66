"""IogJupyterApp: the Jupyter Server extension, its traits, services and background tasks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode, validate

from .core.cluster import PoolConfig
from .core.connection import RayConnection
from .core.monitor import ClusterMonitor
from .handlers import all_handlers


class IogJupyterApp(ExtensionApp):
    """Ray cluster resources through the authenticated Jupyter server.

    The server process is never a Ray driver: it reaches Ray through the GCS client behind
    ``ray status`` and the loopback dashboard, with the Ray token kept server-side.
    """

    name = "iog_jupyter"
    load_other_extensions = True

    ray_address = Unicode(
        "",
        config=True,
        help=(
            "GCS address of the Ray head (host:port). Empty: RAY_ADDRESS, then the address of "
            "the newest local `ray start` (/tmp/ray/ray_current_cluster), then 127.0.0.1:6379."
        ),
    )
    ray_dashboard_url = Unicode(
        "",
        config=True,
        help="URL of Ray's dashboard. Empty: read from the GCS (what `ray job` does).",
    )
    ray_token_path = Unicode(
        "",
        config=True,
        help=(
            "File holding the Ray auth token. Empty: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, then "
            "~/.ray/auth_token. The token never leaves the server."
        ),
    )
    refresh_interval_s = Float(
        2.0,
        config=True,
        help="Seconds between two polls of the cluster by the one shared monitor.",
    )
    history_length = Int(
        1800,
        config=True,
        help="How many polls the cluster history ring buffer keeps (1800 x 2 s = 1 hour).",
    )
    max_backoff_s = Float(
        30.0,
        config=True,
        help="Longest wait between polls while Ray is unreachable (exponential backoff).",
    )
    request_timeout_s = Float(
        10.0,
        config=True,
        help="Deadline for one call to Ray; past it the request answers 503.",
    )
    connect_timeout_s = Float(
        1.0,
        config=True,
        help="Deadline for the TCP probe of the GCS port made before each Ray call.",
    )
    pool_label = Unicode(
        "ray.io/node-group",
        config=True,
        help="Node label whose value names a node's pool (KubeRay sets ray.io/node-group).",
    )
    pool_resource_prefix = Unicode(
        "pool:",
        config=True,
        help='Custom resources named <prefix><pool> also name a pool ({"pool:train": 1}).',
    )
    include_node_usage = Bool(
        True,
        config=True,
        help="Add per-node CPU %, memory and GPU usage from Ray's dashboard to each snapshot.",
    )
    usage_refresh_interval_s = Float(
        5.0,
        config=True,
        help=(
            "Seconds between two fetches of per-node usage from the dashboard, on a thread of "
            "its own (its reply grows with the number of workers); snapshots merge the latest."
        ),
    )
    executor_max_workers = Int(
        4,
        config=True,
        help="Threads for blocking Ray calls made by requests (never on the event loop).",
    )

    @validate("refresh_interval_s", "usage_refresh_interval_s")
    def _check_refresh_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if value < 0.1:
            raise ValueError(f"{proposal['trait'].name} must be at least 0.1 s")
        return value

    @validate("history_length", "executor_max_workers")
    def _check_positive(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1")
        return value

    def initialize_settings(self) -> None:
        """Build the Ray connection, the shared executor and the cluster monitor."""
        self.executor = ThreadPoolExecutor(
            self.executor_max_workers, thread_name_prefix="iog-request"
        )
        self.connection = RayConnection(
            address=self.ray_address or None,
            dashboard_url=self.ray_dashboard_url or None,
            token_path=self.ray_token_path or None,
            connect_timeout_s=self.connect_timeout_s,
            request_timeout_s=self.request_timeout_s,
        )
        self.monitor = ClusterMonitor(
            self.connection,
            refresh_interval_s=self.refresh_interval_s,
            history_length=self.history_length,
            max_backoff_s=self.max_backoff_s,
            call_timeout_s=self.request_timeout_s,
            pool_config=PoolConfig(self.pool_label, self.pool_resource_prefix),
            include_usage=self.include_node_usage,
            usage_refresh_interval_s=self.usage_refresh_interval_s,
        )
        info = self.connection.describe()
        self.log.info(
            "iog_jupyter: Ray at %s (from %s), auth %s, token from %s",
            info["address"],
            info["address_source"],
            info["auth_mode"],
            info["token_source"],
        )
        if self.connection.token_info.world_readable:
            self.log.warning(
                "iog_jupyter: the Ray token file %s is readable by other users; "
                "run `chmod 600 %s`.",
                self.connection.token_info.path,
                self.connection.token_info.path,
            )

    def initialize_handlers(self) -> None:
        """Register every REST and websocket route under ``{base_url}iog/api/v1/``."""
        self.handlers.extend(all_handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the cluster monitor once the server's event loop runs."""
        self.monitor.start()

    async def stop_extension(self) -> None:
        """Stop the monitor and release threads and connections; never raises."""
        try:
            await self.monitor.stop()
        except Exception:  # shutdown must go on whatever failed
            self.log.exception("iog_jupyter: stopping the cluster monitor failed")
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.connection.close()
