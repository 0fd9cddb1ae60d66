"""Run the ``iog`` command as ``python -m iog_jupyter.cli``."""

from __future__ import annotations

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
