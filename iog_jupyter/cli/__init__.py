"""The ``iog`` command: a local Ray head plus JupyterLab (``up``/``down``) and cluster views."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
