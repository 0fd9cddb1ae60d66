"""GPU check: a real NVIDIA GPU's utilisation and memory reach iog_jupyter's views.

    python benchmarks/gpu_check.py [--duration-s 30] [--no-jupyter] [--json out.json]
    python benchmarks/gpu_check.py --help          # every option and the exit codes

On a machine with an NVIDIA GPU (``nvidia-smi`` lists one) it starts its own Ray head
(``iog_jupyter.core.local_head``: token auth, loopback, a private temp dir; Ray detects the GPUs),
submits one job holding ``entrypoint_num_gpus=1`` through iog's Ray jobs backend, and while it
runs polls what every surface shows:

- ``get_cluster_snapshot()`` (core: the GCS status plus the dashboard's per-node usage),
- a live ``ClusterWidget`` (its own refresher: header, figure, node table),
- ``GET iog/api/v1/cluster`` of a Jupyter server with the extension (unless ``--no-jupyter``),
- ``nvidia-smi`` itself, as the reference.

The job is a CUDA matmul loop when ``torch`` with CUDA is importable here (it runs with this
interpreter); else it only holds the GPU and runs ``nvidia-smi`` in a loop, which loads no
kernel, so the utilisation and memory checks are then SKIP, not PASS. It prints a table of
PASS/FAIL/SKIP checks and stops exactly the processes it started, also on an error or SIGTERM.

Exit codes: 0 every check passed (SKIPs allowed), or no NVIDIA GPU (prints "no NVIDIA GPU:
skipped"); 1 a check failed; 2 no NVIDIA GPU and ``--require-gpu`` was given.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

EXIT_OK, EXIT_FAILED, EXIT_NO_GPU = 0, 1, 2
SKIPPED = "no NVIDIA GPU: skipped"
MIB = 1024 * 1024
#: How long the job may take to start (runtime env, CUDA init) on top of its duration.
SETUP_TIMEOUT_S = 300.0
#: What nvidia-smi is asked for as the reference.
SMI_USAGE = "utilization.gpu,memory.used"

TORCH_JOB = """
import time, torch
assert torch.cuda.is_available(), "torch sees no CUDA device"
x = torch.randn(4096, 4096, device="cuda")
end, n = time.time() + {duration_s}, 0
while time.time() < end:
    y = x @ x
    torch.cuda.synchronize()
    n += 1
print("matmuls", n, "on", torch.cuda.get_device_name(0), flush=True)
"""
SMI_JOB = """
import os, subprocess, time
print("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
end = time.time() + {duration_s}
while time.time() < end:
    subprocess.run(["nvidia-smi", "-L"], check=False)
    time.sleep(2)
"""


@dataclass
class Check:
    """One row of the result table."""

    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str


@dataclass
class Seen:
    """The most one surface showed of the GPU while the job ran."""

    samples: int = 0
    gpu_total: float = 0.0
    min_gpu_available: float | None = None
    gpu_held: bool = False
    gpus_reported: int = 0
    names: list[str] = field(default_factory=list)
    max_util_percent: float = 0.0
    max_memory_used_bytes: int = 0
    max_memory_total_bytes: int = 0


def parse_gpu_list(text: str) -> list[str]:
    """GPU names from ``nvidia-smi --query-gpu=name --format=csv,noheader``."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_smi_usage(text: str) -> list[tuple[float, int]]:
    """``(utilisation %, memory used bytes)`` per GPU from ``nvidia-smi --query-gpu=
    utilization.gpu,memory.used --format=csv,noheader,nounits`` (memory in MiB)."""
    rows = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and all(p.replace(".", "", 1).isdigit() for p in parts):
            rows.append((float(parts[0]), int(float(parts[1]) * MIB)))
    return rows


def find_gpus(nvidia_smi: str | None) -> list[str]:
    """The GPUs ``nvidia-smi`` lists; empty when it is missing or sees none (no driver)."""
    if not nvidia_smi:
        return []
    try:
        done = subprocess.run(
            [nvidia_smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_gpu_list(done.stdout) if done.returncode == 0 else []


def job_entrypoint(python: str, duration_s: float, torch_cuda: bool) -> str:
    """The job's command line: the torch matmul loop, or the nvidia-smi loop."""
    code = (TORCH_JOB if torch_cuda else SMI_JOB).format(duration_s=float(duration_s))
    return f"{shlex.quote(python)} -c {shlex.quote(code)}"


def observe(seen: Seen, snapshot: dict[str, Any]) -> None:
    """Fold one snapshot (``ClusterSnapshot`` JSON or ``GET cluster``'s body) into ``seen``."""
    seen.samples += 1
    total = float(snapshot.get("totals", {}).get("GPU", 0.0))
    available = float(snapshot.get("available", {}).get("GPU", total))
    seen.gpu_total = max(seen.gpu_total, total)
    if seen.min_gpu_available is None or available < seen.min_gpu_available:
        seen.min_gpu_available = available
    if total >= 1 and available <= total - 1:
        seen.gpu_held = True
    for node in snapshot.get("nodes", []):
        if node.get("state") == "DEAD":
            continue
        gpus = (node.get("usage") or {}).get("gpus") or []
        seen.gpus_reported = max(seen.gpus_reported, len(gpus))
        for gpu in gpus:
            seen.names = sorted({*seen.names, str(gpu.get("name") or "")})
            seen.max_util_percent = max(seen.max_util_percent, gpu.get("utilization_percent") or 0)
            used, total_bytes = gpu.get("memory_used_bytes") or 0, gpu.get("memory_total_bytes")
            seen.max_memory_used_bytes = max(seen.max_memory_used_bytes, int(used))
            seen.max_memory_total_bytes = max(seen.max_memory_total_bytes, int(total_bytes or 0))


def _surface_checks(name: str, seen: Seen, reference: Seen, loaded: bool) -> list[Check]:
    """The checks of one surface: GPUs advertised, one held, per-GPU usage, load seen."""
    ok = {True: "PASS", False: "FAIL"}
    if not seen.samples:
        return [Check(f"{name}: snapshots", "FAIL", "no snapshot was read while the job ran")]
    held = seen.min_gpu_available if seen.min_gpu_available is not None else seen.gpu_total
    names = ", ".join(seen.names) or "none"
    checks = [
        Check(f"{name}: Ray's GPUs", ok[seen.gpu_total >= 1], f"{seen.gpu_total:g} in total"),
        Check(
            f"{name}: the job holds 1 GPU",
            ok[seen.gpu_held],
            f"fewest available {held:g} of {seen.gpu_total:g}",
        ),
        Check(
            f"{name}: per-GPU usage reported",
            ok[seen.gpus_reported >= 1 and seen.max_memory_total_bytes > 0],
            f"{seen.gpus_reported} GPU(s) ({names}), {seen.max_memory_total_bytes / MIB:.0f} MiB",
        ),
    ]
    util = f"max {seen.max_util_percent:.0f} % (nvidia-smi: {reference.max_util_percent:.0f} %)"
    memory = (
        f"max {seen.max_memory_used_bytes / MIB:.0f} MiB "
        f"(nvidia-smi: {reference.max_memory_used_bytes / MIB:.0f} MiB)"
    )
    for label, value, detail in (
        ("utilization_percent > 0", seen.max_util_percent, util),
        ("memory_used_bytes > 0", seen.max_memory_used_bytes, memory),
    ):
        if loaded:
            checks.append(Check(f"{name}: {label}", ok[value > 0], detail))
        else:
            checks.append(Check(f"{name}: {label}", "SKIP", f"no CUDA load (no torch); {detail}"))
    return checks


def evaluate(
    gpus: Sequence[str],
    job_status: str,
    loaded: bool,
    surfaces: dict[str, Seen],
    reference: Seen,
    widget_header_held: bool | None,
) -> list[Check]:
    """Turn what was seen into checks.

    Args:
        gpus: The GPUs nvidia-smi listed.
        job_status: The GPU job's final status.
        loaded: Whether the job put real load on the GPU (the torch job).
        surfaces: What each surface (``core``, ``widget``, ``jupyter``) showed.
        reference: What nvidia-smi itself showed.
        widget_header_held: Whether the widget's header ever read ``1 / N`` GPUs (None: no
            widget).

    Returns:
        The checks, in table order.
    """
    ok = {True: "PASS", False: "FAIL"}
    checks = [
        Check("nvidia-smi lists a GPU", ok[bool(gpus)], ", ".join(gpus) or "none"),
        Check("the GPU job succeeded", ok[job_status == "SUCCEEDED"], job_status),
    ]
    for name, seen in surfaces.items():
        checks += _surface_checks(name, seen, reference, loaded)
    if widget_header_held is not None:
        detail = "<b>GPU</b> 1 / N seen" if widget_header_held else "never read 1 / N"
        checks.append(Check("widget: header counts the held GPU", ok[widget_header_held], detail))
    return checks


def format_table(checks: Sequence[Check]) -> str:
    """A markdown table of the checks."""
    lines = ["| check | result | detail |", "|---|---|---|"]
    for check in checks:
        name, detail = (text.replace("|", "/") for text in (check.name, check.detail))
        lines.append(f"| {name} | {check.status} | {detail} |")
    return "\n".join(lines)


def summary_line(checks: Sequence[Check]) -> str:
    """``PASS: …`` or ``FAIL: …`` with the counts."""
    failed = [c for c in checks if c.status == "FAIL"]
    skipped = sum(c.status == "SKIP" for c in checks)
    if failed:
        return f"FAIL: {len(failed)} of {len(checks)} checks failed ({failed[0].name}, ...)"
    return f"PASS: {len(checks) - skipped} checks passed, {skipped} skipped"


def exit_code(checks: Sequence[Check]) -> int:
    """0 when no check failed, else 1."""
    return EXIT_FAILED if any(c.status == "FAIL" for c in checks) else EXIT_OK


def torch_has_cuda(python: str) -> bool:
    """Whether ``python`` can import torch and see a CUDA device."""
    if python == sys.executable and importlib.util.find_spec("torch") is None:
        return False
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    try:
        return subprocess.run([python, "-c", probe], timeout=120, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description="Check that a real NVIDIA GPU's utilisation and memory reach iog_jupyter's "
        "cluster snapshot, ClusterWidget and GET cluster.",
        epilog=f"Exit codes: {EXIT_OK} all checks passed, or no NVIDIA GPU (prints "
        f"'{SKIPPED}'); {EXIT_FAILED} a check failed; {EXIT_NO_GPU} no NVIDIA GPU and "
        "--require-gpu.",
    )
    parser.add_argument("--duration-s", type=float, default=30.0, help="how long the job runs")
    parser.add_argument("--poll-interval-s", type=float, default=1.0, help="between two polls")
    parser.add_argument("--no-jupyter", action="store_true", help="skip the Jupyter server")
    parser.add_argument(
        "--num-gpus",
        type=int,
        default=None,
        help="GPUs the head advertises instead of Ray's detection (a dry run of this script "
        "on a machine whose Ray sees no GPU: the usage checks then fail)",
    )
    parser.add_argument("--require-gpu", action="store_true", help="exit 2 without a GPU")
    parser.add_argument("--json", metavar="PATH", help="also write every number here")
    return parser.parse_args(argv)


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_check(args: argparse.Namespace, gpus: list[str], nvidia_smi: str) -> int:
    """Start a head (and a Jupyter server), run the GPU job, poll every surface, report."""
    from harness import JupyterServer, log

    from iog_jupyter.core import local_head
    from iog_jupyter.core.cluster import get_cluster_snapshot
    from iog_jupyter.core.connection import RayConnection
    from iog_jupyter.core.jobs import JobSubmission, RayJobsBackend
    from iog_jupyter.widgets import ClusterWidget
    from iog_jupyter.widgets.refresher import SharedRefresher

    loaded = torch_has_cuda(sys.executable)
    log(f"GPUs: {', '.join(gpus)}; job: {'torch matmul loop' if loaded else 'nvidia-smi loop'}")
    work = Path(tempfile.mkdtemp(prefix="iogg", dir="/tmp"))  # short: Ray puts sockets in it
    surfaces = {"core": Seen(), "widget": Seen()}
    reference = Seen()
    header_held = False
    status = "NOT STARTED"
    server = conn = backend = widget = None
    sid = f"gpu-check-{uuid.uuid4().hex[:8]}"
    try:
        head = local_head.start_head(
            work / "ray", work / "key" / "auth_token", num_cpus=2, num_gpus=args.num_gpus
        )
        os.environ.update(head.env())
        if not args.no_jupyter:
            surfaces["jupyter"] = Seen()
            (work / "jupyter").mkdir()
            server = JupyterServer(head, work / "jupyter")
            server.wait_ready()
        conn = RayConnection()
        backend = RayJobsBackend(conn)
        detected = get_cluster_snapshot(conn).totals.get("GPU", 0.0)
        log(f"Ray detected {detected:g} GPU(s)")
        if detected >= 1:
            entrypoint = job_entrypoint(sys.executable, args.duration_s, loaded)
            backend.submit(JobSubmission(entrypoint, sid, entrypoint_num_gpus=1))
            status = "PENDING"
            widget = ClusterWidget(
                refresh_interval_s=args.poll_interval_s, refresher=SharedRefresher()
            )
        else:
            status = "NOT SUBMITTED: Ray detected no GPU"
        deadline = time.monotonic() + args.duration_s + SETUP_TIMEOUT_S
        while widget is not None and time.monotonic() < deadline:
            record = backend.get(sid)
            status = record.status
            if record.is_terminal:
                break
            if status == "RUNNING":
                observe(surfaces["core"], get_cluster_snapshot(conn).model_dump(mode="json"))
                if widget.snapshot is not None:
                    observe(surfaces["widget"], widget.snapshot.model_dump(mode="json"))
                    header_held |= "<b>GPU</b> 1 / " in widget.header.value
                if server is not None:
                    observe(surfaces["jupyter"], server.get("cluster"))
                smi = subprocess.run(
                    [nvidia_smi, f"--query-gpu={SMI_USAGE}", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                for util, used in parse_smi_usage(smi.stdout):
                    reference.max_util_percent = max(reference.max_util_percent, util)
                    reference.max_memory_used_bytes = max(reference.max_memory_used_bytes, used)
            time.sleep(args.poll_interval_s)
        log(f"job {sid}: {status}")
        if widget is not None and status != "SUCCEEDED":
            log(backend.read_logs(sid, 0, 8192).text[-2000:])
    finally:
        if widget is not None:
            widget.close()
        if backend is not None and status not in ("SUCCEEDED", "FAILED", "STOPPED"):
            with contextlib.suppress(Exception):
                backend.stop(sid)
        if server is not None:
            server.stop()
        if conn is not None:
            conn.close()
        stopped = local_head.stop_head(work / "ray")
        log(f"stopped {stopped} processes of the head in {work / 'ray'}")
        shutil.rmtree(work, ignore_errors=True)
    checks = evaluate(gpus, status, loaded, surfaces, reference, header_held)
    print(format_table(checks))
    print(summary_line(checks))
    if args.json:
        result = {
            "gpus": gpus,
            "job_status": status,
            "loaded": loaded,
            "surfaces": {k: asdict(v) for k, v in surfaces.items()},
            "reference": asdict(reference),
            "checks": [asdict(c) for c in checks],
        }
        Path(args.json).write_text(json.dumps(result, indent=2))
    return exit_code(checks)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit codes."""
    args = parse_args(argv)
    nvidia_smi = shutil.which("nvidia-smi")
    gpus = find_gpus(nvidia_smi)
    if not gpus or nvidia_smi is None:
        print(SKIPPED)
        return EXIT_NO_GPU if args.require_gpu else EXIT_OK
    with _terminate_on_sigterm():
        return run_check(args, gpus, nvidia_smi)


if __name__ == "__main__":
    sys.exit(main())
