"""The one place where iog_jupyter touches Ray APIs that are not public, on every supported Ray.

iog_jupyter supports every Ray from 2.40 to the newest (the cluster owns its Ray). What differs
between them is detected once in :mod:`.capabilities` (:func:`capabilities`), and each wrapper
here takes the path the installed Ray has. Each function is covered by ``tests/test_ray_compat.py``
against the installed Ray, and CI runs those tests on the oldest and the newest Ray, so a Ray
upgrade that moves or changes one of them fails loudly there instead of silently elsewhere.
"""

from __future__ import annotations

from .auth import use_token_auth as use_token_auth
from .capabilities import MIN_RAY_VERSION as MIN_RAY_VERSION
from .capabilities import TOKEN_AUTH_SINCE as TOKEN_AUTH_SINCE
from .capabilities import RayCapabilities as RayCapabilities
from .capabilities import capabilities as capabilities
from .capabilities import import_ray as import_ray
from .capabilities import no_token_auth as no_token_auth
from .gcs import actor_state_name as actor_state_name
from .gcs import alive_node_ips as alive_node_ips
from .gcs import gcs_errors as gcs_errors
from .gcs import get_cluster_status as get_cluster_status
from .gcs import head_session_dir as head_session_dir
from .gcs import kill_actor as kill_actor
from .gcs import kv_del as kv_del
from .gcs import kv_get as kv_get
from .gcs import kv_multi_get as kv_multi_get
from .gcs import kv_put as kv_put
from .gcs import kv_put_if_absent as kv_put_if_absent
from .gcs import kv_scan as kv_scan
from .gcs import list_actors as list_actors
from .gcs import list_named_actors as list_named_actors
from .gcs import named_actor as named_actor
from .gcs import named_actors_info as named_actors_info
from .gcs import node_labels as node_labels
from .jobs import job_auth_errors as job_auth_errors
from .jobs import job_client as job_client
from .jobs import job_infos as job_infos
from .jobs import stop_unstarted_job as stop_unstarted_job
from .jobs import submission_job_infos as submission_job_infos
from .tasks import cancel_task as cancel_task
from .tasks import list_drivers as list_drivers
from .tasks import live_tasks as live_tasks
from .tasks import quiet_infeasible_warnings as quiet_infeasible_warnings
from .tasks import running_tasks as running_tasks
