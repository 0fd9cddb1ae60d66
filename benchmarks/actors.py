"""Actor-listing benchmark: `GET actors?detached=true` vs `list_actors` as the table grows.

One command, one run (see benchmarks/README.md for a recorded run):

    python benchmarks/actors.py [--quick] [--json out.json]

It starts its own single-node Ray head (token auth, dashboard on 127.0.0.1) and a Jupyter server
with iog_jupyter, stops exactly those processes at the end, and prints a markdown table.

1. One driver process (kept open) makes 10 detached named actors with
   ``iog_jupyter.actors.get_or_create`` (TTL 1 h): the actors a user wants to see.
2. The same driver fills Ray's actor table with unnamed actors that can never be placed
   (``resources={"nope": 1}``) and kills half of them: 10 pending + 10 dead, then 1,000 pending +
   1,000 dead. The driver keeps its handles, so the pending ones stay pending.
3. At each size, interleaved rounds time ``GET actors?detached=true`` through Jupyter against
   ``ray.util.state.list_actors`` through the dashboard, two ways a user would ask: the whole
   table (``limit=10_000``) and only live actors (``filters=[("state", "=", "ALIVE")]``), which
   the user would then sift for detached ones.

The bar (DESIGN §8): ours flat, at most 1.5× from 20 to 2,000 dead/pending actors.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
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

NAMESPACE = "bench-actors"
KEEPERS = 10
DRIVER = f"""
import sys
import ray
from iog_jupyter import actors

ray.init(log_to_driver=False)


@ray.remote(num_cpus=0)
class Keeper:
    def ping(self):
        return 1


keepers = [
    actors.get_or_create(Keeper, f"keeper-{{i}}", namespace={NAMESPACE!r}, ttl_s=3600)
    for i in range({KEEPERS})
]
ray.get([k.ping.remote() for k in keepers])


@ray.remote(num_cpus=0, resources={{"nope": 1}})
class Never:
    def ping(self):
        return 1


held = []
print("READY", flush=True)
for line in sys.stdin:
    pending, dead = (int(x) for x in line.split())
    batch = [Never.remote() for _ in range(pending + dead)]
    for handle in batch[:dead]:
        ray.kill(handle, no_restart=True)
    held.extend(batch[dead:])
    print("GREW", flush=True)
"""


class TableFiller:
    """The driver process that owns the keepers and the never-placed actors."""

    def __init__(self, head: local_head.LocalHead) -> None:
        env = {**os.environ, **head.env(), "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._expect("READY")

    def _expect(self, word: str) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != word:
            raise RuntimeError(f"the table-filling driver said {line!r}, not {word}")

    def grow(self, pending: int, dead: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{pending} {dead}\n")
        self.proc.stdin.flush()
        self._expect("GREW")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def table_states(head: local_head.LocalHead) -> dict[str, int]:
    """How many actors of each state Ray's table holds (through the state API)."""
    from ray.util.state import list_actors

    counts: dict[str, int] = {}
    for actor in list_actors(
        address=head.dashboard_url, limit=10_000, raise_on_missing_output=False
    ):
        counts[actor.state] = counts.get(actor.state, 0) + 1
    return counts


def wait_for_table(head: local_head.LocalHead, pending: int, dead: int) -> dict[str, int]:
    """Wait until the kills show as DEAD (Ray records them asynchronously)."""
    deadline = time.monotonic() + 120
    while True:
        counts = table_states(head)
        waiting = counts.get("PENDING_CREATION", 0) + counts.get("DEPENDENCIES_UNREADY", 0)
        if counts.get("DEAD", 0) >= dead and waiting >= pending:
            return counts
        if time.monotonic() > deadline:
            raise RuntimeError(f"the actor table did not settle: {counts}")
        time.sleep(1)


def measure(
    server: JupyterServer, head: local_head.LocalHead, rounds: int
) -> dict[str, list[float]]:
    """Interleaved rounds of our listing and Ray's two listings; seconds per call."""
    from ray.util.state import list_actors

    def ours() -> None:
        reply = server.session.get(
            server.url + API + "actors", params={"detached": "true"}, timeout=60
        )
        reply.raise_for_status()
        names = {a["name"] for a in reply.json()["actors"] if a["namespace"] == NAMESPACE}
        assert len(names) == KEEPERS, names

    def whole_table() -> None:
        list_actors(address=head.dashboard_url, limit=10_000, raise_on_missing_output=False)

    def alive_only() -> None:
        found = list_actors(
            address=head.dashboard_url,
            filters=[("state", "=", "ALIVE")],
            detail=True,
            limit=10_000,
            raise_on_missing_output=False,
        )
        assert sum(1 for a in found if a.is_detached and a.ray_namespace == NAMESPACE) == KEEPERS

    calls: dict[str, Callable[[], None]] = {
        "iog": ours,
        "ray_all": whole_table,
        "ray_alive": alive_only,
    }
    for call in calls.values():  # warm up connections and caches
        call()
    samples: dict[str, list[float]] = {key: [] for key in calls}
    keys = list(calls)
    for i in range(rounds):
        for key in keys[i % 3 :] + keys[: i % 3]:
            start = time.perf_counter()
            calls[key]()
            samples[key].append(time.perf_counter() - start)
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def render(results: dict[str, Any]) -> str:
    small, big = results["small"], results["big"]
    rows = [
        "| what | 20 dead/pending | 2,000 dead/pending | growth | bar |",
        "|---|---|---|---|---|",
    ]
    names = {
        "iog": "`GET actors?detached=true` (iog)",
        "ray_all": "`list_actors(limit=10_000)` (whole table)",
        "ray_alive": '`list_actors(filters=[("state", "=", "ALIVE")], detail=True)`',
    }
    for key, label in names.items():
        a, b = median_ms(small["samples"][key]), median_ms(big["samples"][key])
        bar = f"≤ 1.5×: {'met' if b / a <= 1.5 else 'MISSED'}" if key == "iog" else "—"
        rows.append(f"| {label}, median | {a:.1f} ms | {b:.1f} ms | {b / a:.2f}× | {bar} |")
    for label, size in (("20", small), ("2,000", big)):
        ours = median_ms(size["samples"]["iog"])
        rows.append(
            f"| at {label}: `list_actors` (whole table) / iog | "
            f"{median_ms(size['samples']['ray_all']) / ours:.1f}× | | | |"
        )
    rows.append(f"\nActor table: {small['table']} then {big['table']}.")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds instead of 30")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    import ray

    rounds = 10 if args.quick else 30
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "rounds": rounds,
    }
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iogact") as work:
        work_dir = Path(work)
        token_path = str(local_head.ensure_token_file(work_dir / "ray_token"))
        with ray_head(token_path) as head:
            # This process's state-API client: Ray's token, and the dashboard named outright
            # (RAY_ADDRESS would win over list_actors' own address argument).
            os.environ.update(head.env())
            os.environ["RAY_API_SERVER_ADDRESS"] = head.dashboard_url
            _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", head.token_path)
            server = JupyterServer(
                head,
                work_dir,
                [f"--IogJupyterApp.jobs_state_dir={work_dir / 'iog_state'}"],
                {"RAY_DASHBOARD_ADDRESS": head.dashboard_url},
            )
            with jupyter(server):
                log(f"making {KEEPERS} detached actors (iog get_or_create, TTL 1 h)")
                filler = TableFiller(head)
                try:
                    filler.grow(10, 10)
                    table = wait_for_table(head, 10, 10)
                    log(f"table {table}: {rounds} interleaved rounds")
                    results["small"] = {"table": table, "samples": measure(server, head, rounds)}
                    log("growing the table to 1,000 pending + 1,000 dead actors")
                    filler.grow(990, 990)
                    table = wait_for_table(head, 1000, 1000)
                    log(f"table {table}: {rounds} interleaved rounds")
                    results["big"] = {"table": table, "samples": measure(server, head, rounds)}
                finally:
                    filler.stop()
    results["wall_s"] = time.monotonic() - began
    print(
        f"\niog_jupyter actor-listing benchmark — {results['date']}, {results['cpus']} CPUs, "
        f"Ray {results['ray']}, {rounds} rounds, {results['wall_s']:.0f} s\n"
    )
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
