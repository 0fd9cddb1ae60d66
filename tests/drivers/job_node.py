"""A job entrypoint that says which Ray node runs it and which GPUs Ray gave it, then waits.

Usage: ``python job_node.py [SECONDS]`` (sleeps SECONDS after printing; 0 by default).

Prints ``NODE <node id>`` and ``CUDA_VISIBLE_DEVICES=<value>``. The node is the one whose raylet
started this entrypoint's job supervisor: an ancestor process of this one. Where several nodes
share one machine (and so one IP), ``ray.init()`` inside an entrypoint attaches to the head's
raylet whatever node runs the entrypoint, so ``ray.get_runtime_context().get_node_id()`` would
name the head; the raylet ancestor names the node that really runs it.
"""

import os
import sys
import time


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rpartition(")")[2].split()[1])


def raylet_node_id() -> str:
    """The ``--node_id`` of the nearest raylet among this process's ancestors, or ``?``."""
    pid = os.getppid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
        if args and os.path.basename(args[0]) == b"raylet":
            for arg in args:
                if arg.startswith((b"--node_id=", b"--node-id=")):
                    return arg.split(b"=", 1)[1].decode()
        pid = _parent(pid)
    return "?"


print("NODE", raylet_node_id(), flush=True)
print(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
