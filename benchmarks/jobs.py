"""Jobs benchmarks: iog_jupyter's jobs API side by side with Ray's ``JobSubmissionClient``.

One command, one run, everything measured together on the same Ray head (see
benchmarks/README.md for a recorded run):

    python benchmarks/jobs.py [--quick] [--json out.json]

It starts its own single-node Ray head under a private temp dir (token auth, dashboard on
127.0.0.1) and a Jupyter server with the iog_jupyter extension forced onto the Ray jobs backend
(``--IogJupyterApp.jobs_backend=ray``), stops exactly those processes at the end (also on Ctrl-C
or an error), and prints a markdown table:

1. Submit → RUNNING: ``POST jobs`` then ``GET jobs/{id}`` every 50 ms, vs
   ``JobSubmissionClient.submit_job`` then ``get_job_status`` every 50 ms (interleaved rounds).
2. Log line printed → delivered: one job printing ``tick <time.time()>`` every 0.2 s, followed at
   the same time by our ``WS jobs/{id}/logs/tail`` and by ``JobSubmissionClient.tail_job_logs``;
   latency = receive time − the timestamp in the line (same machine clock).
3. Throughput: a job writing ~20 MB of lines as fast as it can; from the job's start (Ray's
   ``start_time``) to the last byte received, through our websocket vs ``tail_job_logs``
   (one job per follower, one after the other).
4. Submit → SUCCEEDED of a one-line job, the same way as 1.
5. ``GET jobs?limit=50`` with 1,000 jobs in the history, vs ``JobSubmissionClient.list_jobs()``
   (which returns all of them). The history is made of 1,000 SUCCEEDED job records written into
   Ray's own job table with Ray's ``JobInfoStorageClient`` — a stand-in for 1,000 real runs,
   which this 2-core machine would need about an hour to produce.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(BENCH_DIR)]

from harness import API, JupyterServer, jupyter, log, ray_head  # noqa: E402

from iog_jupyter.core import local_head  # noqa: E402

POLL_S = 0.05
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
SLEEP_ENTRYPOINT = 'python -c "import time; time.sleep(30)"'
BIG_ENTRYPOINT = "python -c \"import sys; [sys.stdout.write('x'*99+'\\n') for _ in range(200000)]\""


def tick_entrypoint(seconds: float) -> str:
    count = int(seconds / 0.2)
    return (
        'python -u -c "import time; '
        "[(print('tick', repr(time.time()), flush=True), time.sleep(0.2)) "
        f'for _ in range({count})]"'
    )


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def new_id(kind: str) -> str:
    return f"bench-{kind}-{secrets.token_hex(4)}"


# -- processes we start --------------------------------------------------------------------------


class JobsServer(JupyterServer):
    """The benchmark's Jupyter server, on the Ray jobs backend, with one method per job call."""

    def __init__(self, head: local_head.LocalHead, work_dir: Path) -> None:
        super().__init__(
            head,
            work_dir,
            [
                "--IogJupyterApp.jobs_backend=ray",
                # A timeout, not a delay: the first job on a fresh head starts Ray's job agent
                # and worker processes, which takes more than the default 10 s on a 2-core VM.
                "--IogJupyterApp.request_timeout_s=60",
                f"--IogJupyterApp.jobs_state_dir={work_dir / 'iog_state'}",
            ],
            # The dashboard this script's own client uses (loopback), not the GCS's guess.
            {"RAY_DASHBOARD_ADDRESS": head.dashboard_url},
        )

    def submit(self, entrypoint: str, submission_id: str) -> None:
        reply = self.session.post(
            self.url + API + "jobs",
            json={"entrypoint": entrypoint, "submission_id": submission_id},
            timeout=30,
        )
        assert reply.status_code == 201, (reply.status_code, reply.text[:500])

    def job(self, submission_id: str) -> dict[str, Any]:
        reply = self.session.get(self.url + API + f"jobs/{submission_id}", timeout=30)
        reply.raise_for_status()
        return reply.json()

    def stop_job(self, submission_id: str) -> None:
        reply = self.session.post(self.url + API + f"jobs/{submission_id}/stop", timeout=30)
        reply.raise_for_status()


def wait_until(fn: Callable[[], bool], deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(POLL_S)
    return False


# -- followers -----------------------------------------------------------------------------------


class Follower:
    """Reads a job's log in a thread; keeps (receive time, text) per chunk and the end time."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, str]] = []
        self.bytes = 0
        self.last_byte_at = 0.0
        self.error: BaseException | None = None
        self.done = threading.Event()

    def got(self, text: str) -> None:
        now = time.time()
        self.chunks.append((now, text))
        self.bytes += len(text.encode())
        self.last_byte_at = now

    def tick_latencies(self) -> list[float]:
        """Receive time − printed time, per ``tick <t>`` line (lines may span chunks)."""
        latencies, pending = [], ""
        for received, text in self.chunks:
            pending += text
            *lines, pending = pending.split("\n")
            for line in lines:
                parts = line.split()
                if len(parts) == 2 and parts[0] == "tick":
                    latencies.append(received - float(parts[1]))
        return latencies

    def join(self, timeout_s: float) -> None:
        self.done.wait(timeout_s)
        if self.error is not None:
            raise RuntimeError(f"{type(self).__name__} failed: {self.error!r}")


class IogTail(Follower):
    """Our ``WS jobs/{id}/logs/tail?offset=0``."""

    def __init__(self, server: JupyterServer, submission_id: str) -> None:
        super().__init__()
        url = server.url.replace("http://", "ws://") + API + f"jobs/{submission_id}/logs/tail"
        header = [f"Authorization: {server.headers['Authorization']}"]
        self.ws = websocket.create_connection(
            url + "?offset=0",
            header=header,
            suppress_origin=True,
            timeout=60,
            # websocket-client checks UTF-8 in pure Python (without wsaccel): ~1 MB/s, which
            # would measure this client, not the server. aiohttp (Ray's side) does it in C.
            skip_utf8_validation=True,
        )
        self.status: dict[str, Any] | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                message = self.ws.recv()
                if not message:
                    return
                data = json.loads(message)
                if data["type"] == "log":
                    self.got(data["text"])
                else:
                    self.status = data
                    return
        except BaseException as error:  # noqa: BLE001 - reported by join()
            self.error = error
        finally:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                self.ws.close()
            self.done.set()


class RayTail(Follower):
    """``JobSubmissionClient.tail_job_logs(id)`` (the dashboard's websocket), in its own loop."""

    def __init__(self, client: Any, submission_id: str) -> None:
        super().__init__()
        self.client = client
        self.submission_id = submission_id
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        async def follow() -> None:
            async for text in self.client.tail_job_logs(self.submission_id):
                self.got(text)

        try:
            asyncio.run(follow())
        except BaseException as error:  # noqa: BLE001 - reported by join()
            self.error = error
        finally:
            self.done.set()


def ray_status(client: Any, submission_id: str) -> str:
    status = client.get_job_status(submission_id)
    return str(getattr(status, "value", status))


# -- 1. submit → RUNNING ---------------------------------------------------------------------------


def bench_submit(
    server: JupyterServer,
    client: Any,
    rounds: int,
    entrypoint: str = SLEEP_ENTRYPOINT,
    target: str = "RUNNING",
) -> dict[str, Any]:
    ours: list[float] = []
    theirs: list[float] = []
    # The first job on a fresh head pays for Ray's job agent and a worker pool: not measured.
    warm_id = new_id("warm")
    client.submit_job(entrypoint=SLEEP_ENTRYPOINT, submission_id=warm_id)
    wait_until(lambda: ray_status(client, warm_id) != "PENDING", 120)
    client.stop_job(warm_id)
    wait_until(lambda: ray_status(client, warm_id) in TERMINAL, 30)
    server.session.get(server.url + API + "jobs", params={"limit": 1}, timeout=60)  # its client
    for i in range(1, rounds + 1):
        order = ("iog", "ray") if i % 2 == 0 else ("ray", "iog")
        for which in order:
            submission_id = new_id(f"sub{which}")
            if which == "iog":
                start = time.perf_counter()
                server.submit(entrypoint, submission_id)
                ok = wait_until(lambda sid=submission_id: server.job(sid)["status"] == target, 60)
                took = time.perf_counter() - start
                if target == "RUNNING":
                    server.stop_job(submission_id)
            else:
                start = time.perf_counter()
                client.submit_job(entrypoint=entrypoint, submission_id=submission_id)
                ok = wait_until(lambda sid=submission_id: ray_status(client, sid) == target, 60)
                took = time.perf_counter() - start
                if target == "RUNNING":
                    client.stop_job(submission_id)
            assert ok, f"{submission_id} never {target}"
            wait_until(lambda sid=submission_id: ray_status(client, sid) in TERMINAL, 30)
            (ours if which == "iog" else theirs).append(took)
            log(f"  {which} submit → {target}: {took * 1000:.0f} ms")
    return {"iog_s": ours, "ray_s": theirs}


# -- 2. log latency --------------------------------------------------------------------------------


def bench_latency(server: JupyterServer, client: Any, seconds: float) -> dict[str, Any]:
    submission_id = new_id("tick")
    server.submit(tick_entrypoint(seconds), submission_id)
    ours = IogTail(server, submission_id)
    theirs = RayTail(client, submission_id)
    ours.join(seconds + 60)
    theirs.join(60)
    assert ours.status and ours.status.get("status") == "SUCCEEDED", ours.status
    return {"iog_s": ours.tick_latencies(), "ray_s": theirs.tick_latencies()}


# -- 3. throughput ---------------------------------------------------------------------------------


def bench_throughput(server: JupyterServer, client: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for which in ("iog", "ray"):
        submission_id = new_id(f"big{which}")
        server.submit(BIG_ENTRYPOINT, submission_id)
        follower: Follower = (
            IogTail(server, submission_id) if which == "iog" else RayTail(client, submission_id)
        )
        follower.join(120)
        info = client.get_job_info(submission_id)
        start_s = info.start_time / 1000
        end_s = (info.end_time or 0) / 1000
        elapsed = follower.last_byte_at - start_s
        results[which] = {
            "bytes": follower.bytes,
            "job_run_s": end_s - start_s,
            "start_to_last_byte_s": elapsed,
            "mb_per_s": follower.bytes / 1e6 / elapsed,
        }
        log(f"  {which}: {follower.bytes / 1e6:.1f} MB in {elapsed:.2f} s")
    return results


# -- 5. GET jobs with a long history ---------------------------------------------------------------


def fill_history(head: local_head.LocalHead, count: int) -> None:
    """Write ``count`` SUCCEEDED job records into Ray's job table (module docstring, 5.)."""
    from ray._raylet import GcsClient
    from ray.dashboard.modules.job.common import JobInfo, JobInfoStorageClient, JobStatus

    from iog_jupyter.core import _ray_compat

    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", head.token_path)
    storage = JobInfoStorageClient(GcsClient(address=head.address))
    now_ms = int(time.time() * 1000)

    async def put_all() -> None:
        for i in range(count):
            info = JobInfo(
                status=JobStatus.SUCCEEDED,
                entrypoint=f"python step_{i}.py --epochs 3",
                message="Job finished successfully.",
                metadata={"iog.owner": "bench", "run": str(i)},
                start_time=now_ms - (count - i) * 60_000,
                end_time=now_ms - (count - i) * 60_000 + 30_000,
                driver_exit_code=0,
            )
            await storage.put_info(f"hist-{i:05d}", info)

    asyncio.run(put_all())


def bench_history(
    server: JupyterServer, head: local_head.LocalHead, client: Any, count: int, samples: int
) -> dict[str, Any]:
    fill_history(head, count)
    total = len(client.list_jobs())
    assert total >= count, total
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(samples):
        for which in ("iog", "ray") if i % 2 == 0 else ("ray", "iog"):
            start = time.perf_counter()
            if which == "iog":
                reply = server.session.get(
                    server.url + API + "jobs", params={"limit": 50}, timeout=30
                )
                reply.raise_for_status()
                assert len(reply.json()["jobs"]) == 50
            else:
                assert len(client.list_jobs()) == total
            (ours if which == "iog" else theirs).append(time.perf_counter() - start)
    o50, t50 = pct(ours, 0.5) * 1000, pct(theirs, 0.5) * 1000
    log(f"  {total} jobs: iog p50 {o50:.1f} ms, Ray {t50:.1f} ms")
    return {"iog_s": ours, "ray_s": theirs, "jobs": total}


# -- output ----------------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    rows = []
    for key, target in (("submit", "RUNNING"), ("succeed", "SUCCEEDED")):
        s = results[key]
        ours, theirs = statistics.median(s["iog_s"]), statistics.median(s["ray_s"])
        ratio = ours / theirs
        rows.append(
            (
                f"submit → {target}, median of {len(s['iog_s'])} (poll every 50 ms)",
                f"{ours * 1000:.0f} ms",
                f"`submit_job` + `get_job_status`: {theirs * 1000:.0f} ms",
                f"{ratio:.2f}×",
                f"≤ 1.05×: {'met' if ratio <= 1.05 else 'MISSED'}",
            )
        )
    lat = results["latency"]
    o50, t50 = pct(lat["iog_s"], 0.5), pct(lat["ray_s"], 0.5)
    o90, t90 = pct(lat["iog_s"], 0.9), pct(lat["ray_s"], 0.9)
    rows.append(
        (
            f"log line printed → delivered, p50 ({len(lat['iog_s'])} / {len(lat['ray_s'])} lines)",
            f"{o50 * 1000:.0f} ms",
            f"`tail_job_logs`: {t50 * 1000:.0f} ms",
            f"{o50 / t50:.2f}×",
            f"≤ 250 ms: {'met' if o50 <= 0.25 else 'MISSED'}",
        )
    )
    rows.append(
        (
            "log line printed → delivered, p90",
            f"{o90 * 1000:.0f} ms",
            f"`tail_job_logs`: {t90 * 1000:.0f} ms",
            f"{o90 / t90:.2f}×",
            "—",
        )
    )
    t = results["throughput"]
    oi, ri = t["iog"], t["ray"]
    rows.append(
        (
            f"~20 MB of log: job start → last byte ({oi['bytes'] / 1e6:.1f} / "
            f"{ri['bytes'] / 1e6:.1f} MB)",
            f"{oi['start_to_last_byte_s']:.2f} s = {oi['mb_per_s']:.1f} MB/s",
            f"`tail_job_logs`: {ri['start_to_last_byte_s']:.2f} s = {ri['mb_per_s']:.1f} MB/s",
            f"{oi['mb_per_s'] / ri['mb_per_s']:.2f}×",
            f"≥ `tail_job_logs`: {'met' if oi['mb_per_s'] >= ri['mb_per_s'] else 'MISSED'}",
        )
    )
    h = results["history"]
    o50, t50 = pct(h["iog_s"], 0.5), pct(h["ray_s"], 0.5)
    rows.append(
        (
            f"`GET jobs?limit=50` with {h['jobs']} jobs in the history, p50 of {len(h['iog_s'])}",
            f"{o50 * 1000:.1f} ms",
            f"`list_jobs()` (all {h['jobs']}): {t50 * 1000:.1f} ms",
            f"{o50 / t50:.2f}×",
            "—",
        )
    )
    lines = ["| what | iog_jupyter | instead | ratio | target |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a shorter tick job")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    import ray
    from ray.job_submission import JobSubmissionClient

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "quick": args.quick,
    }
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iogjobs") as work:
        work_dir = Path(work)
        token_path = str(local_head.ensure_token_file(work_dir / "ray_token"))
        with ray_head(token_path) as head, jupyter(JobsServer(head, work_dir)) as server:
            token = Path(token_path).read_text().strip()
            client = JobSubmissionClient(
                head.dashboard_url, headers={"Authorization": f"Bearer {token}"}
            )
            rounds = 3 if args.quick else 5
            log(f"1. submit → RUNNING, {rounds} interleaved rounds each")
            results["submit"] = bench_submit(server, client, rounds)
            seconds = 3.0 if args.quick else 6.0
            log(f"2. log latency: one {seconds:g} s tick job, two followers")
            results["latency"] = bench_latency(server, client, seconds)
            log("3. throughput: ~20 MB of log, one job per follower")
            results["throughput"] = bench_throughput(server, client)
            log(f"4. submit → SUCCEEDED, {rounds} interleaved rounds each")
            results["succeed"] = bench_submit(
                server, client, rounds, 'python -c "print(1)"', "SUCCEEDED"
            )
            log("5. GET jobs with 1,000 jobs in the history")
            results["history"] = bench_history(server, head, client, 1000, 10 if args.quick else 30)
    results["wall_s"] = time.monotonic() - began
    print(
        f"\niog_jupyter jobs benchmarks — {results['date']}, {results['cpus']} CPUs, "
        f"Ray {results['ray']}, {'quick' if args.quick else 'full'} run, "
        f"{results['wall_s']:.0f} s\n"
    )
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
