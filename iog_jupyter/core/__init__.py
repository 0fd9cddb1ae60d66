"""The Ray layer of iog_jupyter: the only package that imports ray.

Nothing in here imports tornado or ipywidgets, so the same code serves the Jupyter server
extension, the kernel-side widgets and the `iog` command.
"""

from __future__ import annotations

from ._ray_compat import TOKEN_AUTH_SINCE as TOKEN_AUTH_SINCE
from ._ray_compat import capabilities as capabilities
from ._ray_compat import import_ray as import_ray
from ._ray_compat import no_token_auth as no_token_auth
from .connection import RayConnection as RayConnection
from .connection import discover_connection as discover_connection
from .errors import IogError as IogError
from .errors import NotFoundError as NotFoundError
from .errors import RayUnavailableError as RayUnavailableError
from .errors import ValidationError as ValidationError
from .wire import ClusterSnapshot as ClusterSnapshot
from .wire import NodeRecord as NodeRecord
from .wire import ResourceDemand as ResourceDemand
