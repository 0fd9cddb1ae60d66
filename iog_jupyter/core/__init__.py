"""The Ray layer of iog_jupyter: the only package that imports ray.

Nothing in here imports tornado or ipywidgets, so the same code serves the Jupyter server
extension, the kernel-side widgets and the `iog` command.
"""

from __future__ import annotations

from ._ray_compat import TOKEN_AUTH_SINCE, capabilities, import_ray, no_token_auth
from .connection import RayConnection

__all__ = ["TOKEN_AUTH_SINCE", "RayConnection", "capabilities", "import_ray", "no_token_auth"]
