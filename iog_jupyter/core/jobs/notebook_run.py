"""The driver of a notebook job: ``python -m iog_jupyter.core.jobs.notebook_run NB --output SINK``.

It runs the notebook top to bottom with papermill (values from ``--parameters`` go into the cell
tagged ``parameters``) in the job's working_dir, prints ``[iog] cell 3/12`` as each cell starts
and the cells' output as it comes, and saves the executed notebook to the sink
(:mod:`.notebook_sinks`) at every cell and at the end, the failing cell's traceback included.
It exits 1 when a cell raised (the job ends FAILED). It is not a Ray driver: the notebook's own
kernel may be one.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ..connection import RayConnection
from .notebook_sinks import KV_SCHEME, write_sink

#: Default for ``--max-output-bytes`` (``IogJupyterApp.notebook_output_max_bytes``).
DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024


class SinkHandler:
    """A papermill I/O handler that saves every write of the output notebook to a sink.

    Registered for the sink's exact name, so papermill's own saves (each cell, the final one
    with the error cell) land there; the notebook's cell count feeds the progress lines.
    """

    def __init__(self, sink: str, max_bytes: int) -> None:
        self.sink, self.max_bytes = sink, max_bytes
        self.conn = RayConnection() if sink.startswith(KV_SCHEME) else None
        self.cells = 0
        self._last: bytes | None = None
        self._warned = False

    def write(self, buf: str, path: str) -> None:
        """Save ``buf`` (the notebook's JSON); over the cap, without its cells' outputs."""
        nb = json.loads(buf)
        self.cells = len(nb.get("cells", []))
        data = buf.encode()
        if len(data) > self.max_bytes:
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "code":
                    cell["outputs"] = []
            data = json.dumps(nb).encode()
            if not self._warned:
                self._warned = True
                print(
                    f"[iog] the executed notebook is over {self.max_bytes} bytes; its copy is "
                    "saved without cell outputs",
                    flush=True,
                )
            if len(data) > self.max_bytes:
                return
        if data != self._last:
            write_sink(self.sink, data, self.conn)
            self._last = data

    def read(self, path: str) -> str:
        """Papermill never reads the output back; refused."""
        raise OSError("the notebook job's output sink is write-only")

    def listdir(self, path: str) -> list[str]:
        """Not a directory; refused."""
        raise OSError("the notebook job's output sink is not a directory")

    def pretty_path(self, path: str) -> str:
        """How papermill names the sink in its own messages."""
        return path


class ProgressFilter(logging.Filter):
    """Turns papermill's ``Executing Cell 3---`` into ``[iog] cell 3/12``; drops ``Ending Cell``."""

    def __init__(self, sink: SinkHandler) -> None:
        super().__init__()
        self.sink = sink

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite or drop papermill's cell markers; pass everything else (cell output)."""
        text = record.getMessage()
        if text.startswith("Ending Cell"):
            return False
        if text.startswith("Executing Cell"):
            number = text[len("Executing Cell") :].strip(" -")
            record.msg, record.args = f"[iog] cell {number}/{self.sink.cells}", None
        return True


def main(argv: list[str] | None = None) -> int:
    """Run the notebook; 0 when every cell ran, 1 when one raised."""
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from papermill.iorw import papermill_io

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="the .ipynb file, relative to the working_dir")
    parser.add_argument("--output", required=True, help="the sink (notebook_sinks)")
    parser.add_argument("--parameters", default="{}", help="a JSON object of parameters")
    parser.add_argument("--kernel-name", default=None)
    parser.add_argument("--max-output-bytes", type=int, default=DEFAULT_MAX_OUTPUT_BYTES)
    args = parser.parse_args(argv)
    sink = SinkHandler(args.output, args.max_output_bytes)
    papermill_io.register(args.output, sink)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(ProgressFilter(sink))
    pm_log = logging.getLogger("papermill")
    pm_log.addHandler(handler)
    pm_log.setLevel(logging.INFO)
    pm_log.propagate = False
    print(f"[iog] running {args.notebook} with papermill", flush=True)
    try:
        papermill.execute_notebook(
            args.notebook,
            args.output,
            parameters=json.loads(args.parameters),
            kernel_name=args.kernel_name,
            log_output=True,
            progress_bar=False,
            request_save_on_cell_execute=True,
        )
    except PapermillExecutionError as err:
        print(f"[iog] cell {err.cell_index + 1} raised {err.ename}: {err.evalue}", flush=True)
        return 1
    print("[iog] all cells ran", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
