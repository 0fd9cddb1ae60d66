"""Where a notebook job's runner saves the executed notebook until the server collects it.

A sink is named by a string the runner gets on its command line (``--output``):

- ``iog-kv://notebook-output:<id>``: a key of the GCS internal KV (namespace ``iog_jupyter``),
  for the Ray backend, whose driver may run on any node; written through
  :class:`~iog_jupyter.core.connection.RayConnection` (the GCS client, never ``ray.init``);
- an absolute file path under the server's state dir, for the local backend (its driver runs on
  this machine).

Only the server's own store of notebook jobs (``notebooks.NotebookStore``) decides which sink
is read and where its content is written; the job's metadata is never trusted for that.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .. import _ray_compat
from ..actors.records import IOG_KV_NAMESPACE

if TYPE_CHECKING:
    from ..connection import RayConnection

KV_SCHEME = "iog-kv://"
KV_PREFIX = "notebook-output:"


def sink_for(submission_id: str, backend: str, state_dir: str) -> str:
    """The sink of a job on ``backend`` (``"ray"``: the KV; ``"local"``: a file)."""
    if backend == "ray":
        return f"{KV_SCHEME}{KV_PREFIX}{submission_id}"
    return os.path.join(state_dir, "notebook-out", f"{submission_id}.ipynb")


def _kv_key(sink: str) -> bytes:
    return sink[len(KV_SCHEME) :].encode()


def write_sink(sink: str, data: bytes, conn: RayConnection | None) -> None:
    """Replace the sink's content with ``data`` (a file sink is written whole, then renamed).

    Raises:
        RayUnavailableError: The GCS did not take it (KV sink).
        OSError: The file could not be written (file sink).
    """
    if sink.startswith(KV_SCHEME):
        assert conn is not None, "a KV sink needs a Ray connection"
        conn.gcs_call(
            _ray_compat.kv_put, _kv_key(sink), data, IOG_KV_NAMESPACE, conn.request_timeout_s
        )
        return
    Path(f"{sink}.part").write_bytes(data)
    os.replace(f"{sink}.part", sink)


def read_sink(sink: str, conn: RayConnection | None) -> bytes | None:
    """The sink's content; None when the runner saved nothing there.

    Raises:
        RayUnavailableError: The GCS did not answer (KV sink; try again later).
    """
    if sink.startswith(KV_SCHEME):
        if conn is None:
            return None
        return conn.gcs_call(
            _ray_compat.kv_get, _kv_key(sink), IOG_KV_NAMESPACE, conn.request_timeout_s
        )
    try:
        return Path(sink).read_bytes()
    except FileNotFoundError:
        return None


def drop_sink(sink: str, conn: RayConnection | None) -> None:
    """Delete the sink's content (nothing happens when there is none)."""
    if sink.startswith(KV_SCHEME):
        if conn is not None:
            conn.gcs_call(_ray_compat.kv_del, _kv_key(sink), IOG_KV_NAMESPACE, 5.0)
        return
    for path in (sink, f"{sink}.part"):
        Path(path).unlink(missing_ok=True)
