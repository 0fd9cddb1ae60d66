"""iog_jupyter: Ray cluster resources, jobs, sessions and actors through the Jupyter server."""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell Jupyter Server which ExtensionApp to load."""
    from .app import IogJupyterApp

    return [{"module": "iog_jupyter", "app": IogJupyterApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt frontend lives (for development installs)."""
    return [{"src": "labextension", "dest": "iog-jupyter"}]
