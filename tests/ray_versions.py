"""What the installed Ray can do, for tests whose expectations differ between Ray versions."""

from __future__ import annotations

import pytest

from iog_jupyter.core import _ray_compat

CAPS = _ray_compat.capabilities()

#: Tests of Ray's token authentication itself; a Ray before 2.52 has none.
requires_token_auth = pytest.mark.skipif(
    not CAPS.token_auth, reason=f"Ray {CAPS.version} has no token authentication (< 2.52)"
)
