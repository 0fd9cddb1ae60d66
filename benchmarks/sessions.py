"""Sessions benchmark: `GET sessions` with 10 notebook kernels that are Ray drivers.

Starts a loopback Ray head and a Jupyter server with iog_jupyter (benchmarks/harness.py), opens
10 notebook sessions through Jupyter's REST API, makes each kernel a Ray driver with
``iog_jupyter.connect()`` and one actor, then times, interleaved in the same run:

- ``GET sessions`` through the Jupyter server (kernels ⋈ drivers ⋈ actors ⋈ tasks, JSON);
- ``list_sessions`` in core (the three GCS calls and the join, no HTTP);
- what a user would do instead: Ray's state API over the dashboard, ``list_jobs()`` plus
  ``list_actors(state=ALIVE)`` (and still no kernel, notebook or idle time).

Usage: ``python benchmarks/sessions.py [--kernels 10] [--rounds 50] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import API, JupyterServer, jupyter, local_head, log, ray_head

HOLD = """
import ray, iog_jupyter
info = iog_jupyter.connect()
@ray.remote(num_cpus=0.05)
class Holder:
    def ping(self):
        return "pong"
holder = Holder.remote()
print("ready", info.job_id, ray.get(holder.ping.remote()))
"""


def open_kernels(server: JupyterServer, work_dir: Path, count: int) -> list[str]:
    """Open ``count`` notebook sessions and make each kernel a driver; returns the kernel ids."""
    from jupyter_client import BlockingKernelClient

    kernel_ids = []
    for i in range(count):
        reply = server.session.post(
            server.url + "api/sessions",
            json={"path": f"nb{i}.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
            timeout=60,
        )
        reply.raise_for_status()
        kernel_ids.append(reply.json()["kernel"]["id"])
    for kernel_id in kernel_ids:
        client = BlockingKernelClient()
        client.load_connection_file(str(work_dir / "runtime" / f"kernel-{kernel_id}.json"))
        client.start_channels()
        try:
            # No wait_for_ready: without a kernel manager it trusts a heartbeat not yet started.
            out: list[str] = []
            reply = client.execute_interactive(
                HOLD,
                timeout=180,
                output_hook=lambda m, out=out: out.append(m["content"].get("text", "")),
            )
            assert reply["content"]["status"] == "ok", out
        finally:
            client.stop_channels()
        log(f"kernel {kernel_id[:8]}: {''.join(out).strip()}")
    return kernel_ids


def timed(fn: Any) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered),
        "p90_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "n": len(ordered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    # The head is single-node (loopback only); Ray reads this when it is imported.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

    import ray
    from ray.util.state import list_actors, list_jobs

    from iog_jupyter.core.connection import RayConnection
    from iog_jupyter.core.sessions.drivers import list_sessions

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "kernels": args.kernels,
    }
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iogsess") as work:
        work_dir = Path(work)
        token_path = str(local_head.ensure_token_file(work_dir / "ray_token"))
        with ray_head(token_path) as head:
            server = JupyterServer(
                head,
                work_dir,
                ["--IogJupyterApp.request_timeout_s=60"],
                {"RAY_DASHBOARD_ADDRESS": head.dashboard_url},
            )
            with jupyter(server):
                os.environ.update(head.env())
                log(f"opening {args.kernels} notebook kernels, each a Ray driver with an actor")
                kernel_ids = open_kernels(server, work_dir, args.kernels)
                body = server.get("sessions")
                mine = [s for s in body["sessions"] if s["kernel_id"] in kernel_ids]
                assert len(mine) == args.kernels, body
                assert all(s["kind"] == "notebook" and s["actors"] == 1 for s in mine)
                conn = RayConnection()
                conn.prepare_ray_client()  # this process's Ray clients use the head's token

                def ray_state() -> None:
                    list_jobs(address=head.dashboard_url, _explain=False)
                    list_actors(
                        address=head.dashboard_url, filters=[("state", "=", "ALIVE")], limit=1000
                    )

                state_ok = True
                try:
                    ray_state()
                except Exception as err:  # report what the alternative does here, do not crash
                    state_ok = False
                    results["ray_state_error"] = f"{type(err).__name__}: {str(err)[:200]}"
                samples: dict[str, list[float]] = {"rest": [], "core": [], "ray_state": []}
                for _ in range(3):  # warm up
                    server.get("sessions")
                    list_sessions(conn)
                log(f"timing {args.rounds} interleaved rounds")
                for _ in range(args.rounds):
                    samples["rest"].append(
                        timed(
                            lambda: server.session.get(
                                server.url + API + "sessions", timeout=30
                            ).raise_for_status()
                        )
                    )
                    samples["core"].append(timed(lambda: list_sessions(conn)))
                    if state_ok:
                        samples["ray_state"].append(timed(ray_state))
                conn.close()
    results["wall_s"] = time.monotonic() - began
    for name, values in samples.items():
        if values:
            results[name] = summary(values)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
