"""Job-listing benchmark: `GET jobs?limit=50` vs `JobSubmissionClient.list_jobs()` as history grows.

One command, one run (see benchmarks/README.md for a recorded run):

    python benchmarks/jobs_list.py [--quick] [--json out.json]

It starts its own single-node Ray head (token auth) and a Jupyter server with iog_jupyter on the
Ray jobs backend. Ray's job table is then filled with ended jobs (100, then 10,000) written the
way Ray's job manager writes them: ``JobInfo`` records in the GCS KV store (namespace ``job``),
so no driver process runs for them (10,000 real jobs would take hours on this machine; the
records are Ray's own format, read by Ray's own client). Two real jobs run too.

At each size, interleaved rounds time the first page through Jupyter (``GET jobs?limit=50``, and
a status-filtered page) against what a user would call: ``JobSubmissionClient.list_jobs()``.
The bar (issue 15): ours flat, page p50 ≤ 20 ms and ≤ 1.5× from 100 to 10,000.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(BENCH_DIR)]

from harness import API, JupyterServer, jupyter, log, ray_head  # noqa: E402

from iog_jupyter.core import _ray_compat, local_head  # noqa: E402
from iog_jupyter.core._ray_compat.gcs import gcs_client  # noqa: E402


def fill(head: local_head.LocalHead, start: int, stop: int) -> None:
    """Write ended jobs ``hist-<start>`` … ``hist-<stop - 1>`` into Ray's job table."""
    from ray._private import ray_constants
    from ray.dashboard.modules.job.common import JobInfo, JobInfoStorageClient, JobStatus

    client = gcs_client(head.address)
    now = int(time.time() * 1000)
    for i in range(start, stop):
        info = JobInfo(
            status=JobStatus.SUCCEEDED if i % 7 else JobStatus.FAILED,
            entrypoint=f"python train.py --run {i}",
            message="Job finished successfully.",
            start_time=now - 3_600_000 + i,
            end_time=now - 1_800_000 + i,
            metadata={"name": f"run {i}"},
            driver_exit_code=0 if i % 7 else 1,
        )
        key = f"{JobInfoStorageClient.JOB_DATA_KEY_PREFIX}hist-{i:05d}".encode()
        client.internal_kv_put(
            key,
            json.dumps(info.to_json()).encode(),
            True,
            ray_constants.KV_NAMESPACE_JOB,
            timeout=30,
        )


def measure(server: JupyterServer, head: local_head.LocalHead, rounds: int) -> dict[str, list]:
    from ray.job_submission import JobSubmissionClient

    token = Path(head.token_path).read_text().strip()
    client = JobSubmissionClient(head.dashboard_url, headers={"Authorization": f"Bearer {token}"})

    def ours() -> None:
        reply = server.session.get(server.url + API + "jobs", params={"limit": 50}, timeout=60)
        reply.raise_for_status()
        assert len(reply.json()["jobs"]) == 50

    def ours_failed() -> None:
        reply = server.session.get(
            server.url + API + "jobs", params={"limit": 50, "status": "FAILED"}, timeout=60
        )
        reply.raise_for_status()
        assert reply.json()["jobs"]

    def ray_list() -> None:
        client.list_jobs()

    calls: dict[str, Callable[[], None]] = {
        "iog": ours,
        "iog_failed": ours_failed,
        "ray": ray_list,
    }
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {key: [] for key in calls}
    keys = list(calls)
    for i in range(rounds):
        for key in keys[i % 3 :] + keys[: i % 3]:
            started = time.perf_counter()
            calls[key]()
            samples[key].append(time.perf_counter() - started)
    # Ours alone, as a sidebar and a CLI polling would call it (the machine not busy with
    # list_jobs, whose 10,000-job answers load the dashboard and GCS on these 2 cores).
    for key in ("iog", "iog_failed"):
        alone = samples.setdefault(f"{key}_alone", [])
        for _ in range(rounds):
            time.sleep(0.1)
            started = time.perf_counter()
            calls[key]()
            alone.append(time.perf_counter() - started)
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def render(results: dict[str, Any]) -> str:
    small, big = results["sizes"]
    rows = [
        f"| what | {small['jobs']:,} jobs | {big['jobs']:,} jobs | growth | bar |",
        "|---|---|---|---|---|",
    ]
    names = {
        "iog": "`GET jobs?limit=50` (iog)",
        "iog_failed": "`GET jobs?limit=50&status=FAILED` (iog)",
        "iog_alone": "`GET jobs?limit=50` (iog), polled alone every 0.1 s",
        "iog_failed_alone": "`GET jobs?limit=50&status=FAILED` (iog), polled alone",
        "ray": "`JobSubmissionClient.list_jobs()`",
    }
    for key, label in names.items():
        a, b = median_ms(small["samples"][key]), median_ms(big["samples"][key])
        bar = "—"
        if key.startswith("iog"):
            met = b / a <= 1.5 and b <= 20
            bar = f"≤ 20 ms, ≤ 1.5×: {'met' if met else 'MISSED'}"
        rows.append(f"| {label}, median | {a:.1f} ms | {b:.1f} ms | {b / a:.2f}× | {bar} |")
    for size in (small, big):
        ratio = median_ms(size["samples"]["ray"]) / median_ms(size["samples"]["iog"])
        rows.append(f"| at {size['jobs']:,}: `list_jobs` / iog | {ratio:.1f}× | | | |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 jobs at most, 10 rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import ray

    rounds = 10 if args.quick else 30
    sizes = (100, 1_000 if args.quick else 10_000)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "rounds": rounds,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="iogjobs") as work:
        work_dir = Path(work)
        token_path = str(local_head.ensure_token_file(work_dir / "ray_token"))
        with ray_head(token_path) as head:
            _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", head.token_path)
            server = JupyterServer(
                head,
                work_dir,
                [
                    "--IogJupyterApp.jobs_backend=ray",
                    f"--IogJupyterApp.jobs_state_dir={work_dir / 'iog_state'}",
                ],
            )
            with jupyter(server):
                filled = 0
                for size in sizes:
                    log(f"filling Ray's job table to {size:,} ended jobs")
                    fill(head, filled, size)
                    filled = size
                    samples = measure(server, head, rounds)
                    results["sizes"].append({"jobs": size, "samples": samples})
                    log(f"{size:,}: iog {median_ms(samples['iog']):.1f} ms")
    table = render(results)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
