"""The one place where iog_jupyter touches Ray APIs that are not public, on every supported Ray.

iog_jupyter supports every Ray from 2.40 to the newest (the cluster owns its Ray). What differs
between them is detected once in :mod:`.capabilities` (:func:`capabilities`), and each wrapper
here takes the path the installed Ray has. Each function is covered by ``tests/test_ray_compat.py``
against the installed Ray, and CI runs those tests on the oldest and the newest Ray, so a Ray
upgrade that moves or changes one of them fails loudly there instead of silently elsewhere.
"""

from __future__ import annotations

from .auth import use_token_auth
from .capabilities import TOKEN_AUTH_SINCE, capabilities, import_ray, no_token_auth
from .gcs import (
    actor_state_name,
    alive_node_ips,
    gcs_errors,
    get_cluster_status,
    head_session_dir,
    kill_actor,
    kv_del,
    kv_get,
    kv_multi_get,
    kv_put,
    kv_scan,
    list_actors,
    list_named_actors,
    named_actor,
    named_actors_info,
    node_labels,
)
from .jobs import (
    driver_job_env,
    job_auth_errors,
    job_client,
    job_infos,
    stop_unstarted_job,
    submission_job_infos,
)
from .tasks import cancel_task, list_drivers, live_tasks, quiet_infeasible_warnings, running_tasks

__all__ = [
    "TOKEN_AUTH_SINCE",
    "actor_state_name",
    "alive_node_ips",
    "cancel_task",
    "capabilities",
    "no_token_auth",
    "gcs_errors",
    "get_cluster_status",
    "head_session_dir",
    "import_ray",
    "driver_job_env",
    "job_auth_errors",
    "job_client",
    "kill_actor",
    "kv_del",
    "kv_get",
    "kv_multi_get",
    "kv_put",
    "kv_scan",
    "list_actors",
    "list_drivers",
    "list_named_actors",
    "live_tasks",
    "named_actor",
    "named_actors_info",
    "node_labels",
    "quiet_infeasible_warnings",
    "running_tasks",
    "stop_unstarted_job",
    "job_infos",
    "submission_job_infos",
    "use_token_auth",
]
