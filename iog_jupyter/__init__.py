"""iog_jupyter: Ray cluster resources, jobs, sessions and actors through the Jupyter server."""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__", "actors", "connect", "keep_alive", "stage", "Stage", "workspace"]

#: Public names imported on first use, so ``import iog_jupyter`` (the server extension) stays light.
_LAZY = {
    "connect": ("iog_jupyter.core.sessions.connect", "connect"),
    "keep_alive": ("iog_jupyter.core.sessions.connect", "keep_alive"),
    "stage": ("iog_jupyter.core.stages", "stage"),
    "Stage": ("iog_jupyter.core.stages", "Stage"),
    "workspace": ("iog_jupyter.widgets.workspace", "workspace"),
    "actors": ("iog_jupyter.actors", None),
    "jobs": ("iog_jupyter.jobs", None),
}


def __getattr__(name: str) -> Any:
    """Import the notebook-facing API (``connect``, ``stage``, ``actors``, ...) on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'iog_jupyter' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell Jupyter Server which ExtensionApp to load."""
    from .app import IogJupyterApp

    return [{"module": "iog_jupyter", "app": IogJupyterApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt frontend lives (for development installs)."""
    return [{"src": "labextension", "dest": "iog-jupyter"}]
