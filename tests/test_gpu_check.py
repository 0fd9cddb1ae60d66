"""benchmarks/gpu_check.py: its pure parts, its command line, a dry run, and the real check.

The real check needs an NVIDIA GPU (``nvidia-smi`` on PATH) and is skipped without one. The dry
run puts ``FakeNvidiaSmi`` (a shell script that lists one made-up GPU and reports no load) first
on PATH and has the head advertise one logical GPU: everything but the GPU itself is real (Ray
head, GPU job, widget, Jupyter server), so the per-GPU usage checks must fail there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iog_jupyter.core.wire import (
    ClusterSnapshot,
    GpuUsage,
    NodeRecord,
    NodeUsage,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"
GIB = 1024**3
FAKE_NVIDIA_SMI = """#!/bin/sh
# FakeNvidiaSmi: one made-up GPU, never busy.
case "$*" in
  *query-gpu=name*) echo "FakeGPU 80GB" ;;
  *utilization.gpu*) echo "0, 0" ;;
  *) echo "GPU 0: FakeGPU 80GB (UUID: GPU-fake)" ;;
esac
"""


def _load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gpu_check = _load_script()


def _snapshot(util: float | None, used_bytes: int | None, available_gpu: float) -> dict:
    gpu = GpuUsage(
        index=0,
        name="NVIDIA H100 80GB HBM3",
        utilization_percent=util,
        memory_used_bytes=used_bytes,
        memory_total_bytes=80 * GIB,
    )
    node = NodeRecord(
        node_id="n1",
        node_name="10.0.0.1",
        node_ip="10.0.0.1",
        is_head=True,
        state="ACTIVE",
        pool="default",
        labels={},
        resources_total={"CPU": 8.0, "GPU": 2.0},
        resources_available={"CPU": 8.0, "GPU": available_gpu},
        usage=NodeUsage(gpus=[gpu]),
    )
    snap = ClusterSnapshot(
        timestamp_ms=1_700_000_000_000,
        totals={"GPU": 2.0},
        available={"GPU": available_gpu},
        nodes=[node],
        pending_demands=[],
        infeasible_demands=[],
        pools=[],
    )
    return snap.model_dump(mode="json")


def _own_ray_env() -> dict[str, str]:
    """This environment without Ray's variables: the script starts and finds its own head."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}


def _run(*args: str, env: dict[str, str] | None = None, timeout_s: float = 60):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )


def test_nvidia_smi_output_is_parsed():
    assert gpu_check.parse_gpu_list("NVIDIA H100 80GB HBM3\n\nNVIDIA H100 80GB HBM3\n") == [
        "NVIDIA H100 80GB HBM3",
        "NVIDIA H100 80GB HBM3",
    ]
    assert gpu_check.parse_smi_usage("87, 1234\n0, 0\n[N/A], 5\n") == [
        (87.0, 1234 * 1024 * 1024),
        (0.0, 0),
    ]
    assert gpu_check.find_gpus(None) == []


def test_a_loaded_gpu_in_every_surface_passes():
    seen = {name: gpu_check.Seen() for name in ("core", "widget", "jupyter")}
    for surface in seen.values():
        gpu_check.observe(surface, _snapshot(None, None, 2.0))  # before the job holds it
        gpu_check.observe(surface, _snapshot(87.0, 12 * GIB, 1.0))
    reference = gpu_check.Seen(max_util_percent=90.0, max_memory_used_bytes=12 * GIB)
    checks = gpu_check.evaluate(["H100"], "SUCCEEDED", True, seen, reference, True)
    assert [c.status for c in checks] == ["PASS"] * len(checks)
    assert len(checks) == 2 + 3 * 5 + 1  # 5 checks per surface
    core = seen["core"]
    assert (core.samples, core.gpu_total, core.min_gpu_available) == (2, 2.0, 1.0)
    assert core.max_util_percent == 87.0 and core.max_memory_used_bytes == 12 * GIB
    table = gpu_check.format_table(checks)
    assert "| core: utilization_percent > 0 | PASS | max 87 % (nvidia-smi: 90 %) |" in table
    assert gpu_check.summary_line(checks) == f"PASS: {len(checks)} checks passed, 0 skipped"
    assert gpu_check.exit_code(checks) == gpu_check.EXIT_OK


def test_usage_that_never_reaches_a_surface_fails():
    core, widget = gpu_check.Seen(), gpu_check.Seen()
    gpu_check.observe(core, _snapshot(87.0, 12 * GIB, 1.0))
    gpu_check.observe(widget, _snapshot(0.0, 0, 2.0))  # idle and never held: all wrong
    checks = gpu_check.evaluate(
        ["H100"], "SUCCEEDED", True, {"core": core, "widget": widget}, gpu_check.Seen(), False
    )
    failed = [c.name for c in checks if c.status == "FAIL"]
    assert failed == [
        "widget: the job holds 1 GPU",
        "widget: utilization_percent > 0",
        "widget: memory_used_bytes > 0",
        "widget: header counts the held GPU",
    ]
    assert gpu_check.exit_code(checks) == gpu_check.EXIT_FAILED
    assert gpu_check.summary_line(checks).startswith("FAIL: 4 of")
    # No snapshot at all, or a job that did not succeed, fails too.
    empty = gpu_check.evaluate([], "FAILED", True, {"core": gpu_check.Seen()}, core, None)
    assert [c.status for c in empty] == ["FAIL", "FAIL", "FAIL"]


def test_without_cuda_load_the_usage_checks_are_skipped_not_passed():
    core = gpu_check.Seen()
    gpu_check.observe(core, _snapshot(0.0, 0, 1.0))
    checks = gpu_check.evaluate(["H100"], "SUCCEEDED", False, {"core": core}, core, None)
    by_name = {c.name: c for c in checks}
    assert by_name["core: utilization_percent > 0"].status == "SKIP"
    assert by_name["core: memory_used_bytes > 0"].status == "SKIP"
    assert "no CUDA load" in by_name["core: utilization_percent > 0"].detail
    assert gpu_check.exit_code(checks) == gpu_check.EXIT_OK
    table = gpu_check.format_table([gpu_check.Check("a|b", "PASS", "c|d")])
    assert table.splitlines()[-1] == "| a/b | PASS | c/d |"


def test_both_job_entrypoints_are_valid_python():
    for torch_cuda in (True, False):
        command = gpu_check.job_entrypoint("/usr/bin/python3", 20, torch_cuda)
        assert command.startswith("/usr/bin/python3 -c ")
        code = command.split(" -c ", 1)[1].strip("'")
        compile(code, "job", "exec")
        assert "20.0" in code
        assert ("torch.cuda.synchronize()" in code) is torch_cuda


def test_help_documents_the_exit_codes_and_the_skip():
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    assert "Exit codes: 0 all checks passed" in text and "no NVIDIA GPU: skipped" in text
    assert "1 a check failed; 2 no NVIDIA GPU and --require-gpu" in text
    for option in ("--duration-s", "--no-jupyter", "--num-gpus", "--require-gpu", "--json"):
        assert option in text


def test_without_nvidia_smi_it_skips(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no nvidia-smi anywhere on it
    done = _run(env=env)
    assert (done.returncode, done.stdout.strip()) == (0, "no NVIDIA GPU: skipped")
    done = _run("--require-gpu", env=env)
    assert (done.returncode, done.stdout.strip()) == (2, "no NVIDIA GPU: skipped")


@pytest.mark.slow
def test_dry_run_with_a_logical_gpu_runs_everything_but_the_gpu(tmp_path):
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(FAKE_NVIDIA_SMI)
    fake.chmod(0o755)
    env = _own_ray_env()
    env["PATH"] = f"{fake.parent}{os.pathsep}{env['PATH']}"
    out = tmp_path / "result.json"
    done = _run("--num-gpus", "1", "--duration-s", "4", "--json", str(out), env=env, timeout_s=280)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for surface in ("core", "widget", "jupyter"):
        assert f"| {surface}: the job holds 1 GPU | PASS | fewest available 0 of 1 |" in lines
        assert any(f"| {surface}: per-GPU usage reported | FAIL |" in line for line in lines)
    assert "| the GPU job succeeded | PASS | SUCCEEDED |" in lines
    assert lines[-1].startswith("FAIL: 3 of")
    assert "stopped" in done.stderr and "processes of the head" in done.stderr
    assert '"job_status": "SUCCEEDED"' in out.read_text()


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("nvidia-smi") is None, reason="no nvidia-smi on PATH: no NVIDIA GPU to check"
)
def test_a_real_gpu_reaches_the_snapshot_and_the_widget():
    done = _run("--duration-s", "20", env=_own_ray_env(), timeout_s=290)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith("PASS:")
