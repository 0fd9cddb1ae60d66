"""Actor-listing benchmark: `GET actors?…&limit=20` vs `list_actors` as named actors grow.

One command, one run (see benchmarks/README.md for a recorded run):

    python benchmarks/actors.py [--quick] [--json out.json]

It starts its own single-node Ray head (token auth, dashboard on 127.0.0.1) and a Jupyter server
with iog_jupyter, stops exactly those processes at the end, and prints a markdown table.

1. One driver process (kept open) makes named detached actors in namespace ``bench-actors``,
   all named ``actor-<random hex>`` so that every kind is spread over the sorted names:
   ``ALIVE`` ones (10, with ``iog_jupyter.actors.get_or_create``, TTL 1 h: each is a worker
   process, so their number stays small), ``PENDING_CREATION`` ones that can never be placed
   (``resources={"nope": 1}``; every fourth through ``get_or_create`` so iog holds a KV record
   of it, the rest with plain ``.options(name=…, lifetime="detached")``), and dead ones (made
   pending, then killed: Ray keeps them in its table, their names are free again). A tenth of
   the pending ones go to a second namespace, ``bench-other``.
2. First 20 named actors (10 alive, 8 pending, 2 dead), then the same driver grows them to
   10,000 (1,000 with ``--quick``): 10 alive, a tenth dead, the rest pending.
3. At each size, interleaved rounds time four pages through Jupyter,
   ``GET actors?detached=true&limit=20``, ``?state=ALIVE&limit=20``,
   ``?namespace=bench-actors&limit=20`` and ``?prefix=actor-&limit=20``, against what a user
   would run with ``ray.util.state.list_actors`` for the same question (the dashboard cannot
   filter on ``is_detached`` or a name prefix, so those read the whole table and sift it), and
   one bare
   ``ListNamedActors`` RPC (the names the listing starts from).

The bar (issue 15): each ``GET actors`` page p50 at most 1.5× from 20 to 10,000 named actors.
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
OTHER_NAMESPACE = "bench-other"
ALIVE = 10
PAGE = 20
DRIVER = f"""
import random
import sys
import ray
from iog_jupyter import actors

ray.init(log_to_driver=False)
rng = random.Random(15)


def fresh_name():
    return "actor-" + "%012x" % rng.getrandbits(48)


@ray.remote(num_cpus=0)
class Keeper:
    def ping(self):
        return 1


keepers = [
    actors.get_or_create(Keeper, fresh_name(), namespace={NAMESPACE!r}, ttl_s=3600)
    for _ in range({ALIVE})
]
ray.get([k.ping.remote() for k in keepers])

@ray.remote(num_cpus=0, resources={{"nope": 1}})
class Never:
    def ping(self):
        return 1


made = 0
print("READY", flush=True)
for line in sys.stdin:
    pending, dead = (int(x) for x in line.split())
    doomed = []
    for i in range(pending + dead):
        made += 1
        name = fresh_name()
        if i < dead:
            doomed.append(Never.options(name=name, namespace={NAMESPACE!r},
                                        lifetime="detached").remote())
        elif made % 10 == 0:
            Never.options(name=name, namespace={OTHER_NAMESPACE!r}, lifetime="detached").remote()
        elif made % 4 == 0:
            actors.get_or_create(Never, name, namespace={NAMESPACE!r}, ttl_s=3600)
        else:
            Never.options(name=name, namespace={NAMESPACE!r}, lifetime="detached").remote()
    for handle in doomed:
        ray.kill(handle, no_restart=True)
    print("GREW", flush=True)
"""


class TableFiller:
    """The driver process that makes the named actors."""

    def __init__(self, head: local_head.LocalHead, work_dir: Path) -> None:
        env = {**os.environ, **head.env(), "PYTHONPATH": str(REPO)}
        self.log_path = work_dir / "driver.log"
        with open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", DRIVER],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self._expect("READY")

    def _expect(self, word: str) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != word:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the actor-making driver said {line!r}, not {word}:\n{tail}")

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
    """How many actors of each state Ray's table holds (one GetAllActorInfo)."""
    counts: dict[str, int] = {}
    for data in _ray_compat.list_actors(head.address, 120):
        state = _ray_compat.actor_state_name(data)
        counts[state] = counts.get(state, 0) + 1
    return counts


def wait_for_table(head: local_head.LocalHead, pending: int, dead: int) -> dict[str, int]:
    """Wait until the kills show as DEAD (Ray records them asynchronously)."""
    deadline = time.monotonic() + 300
    while True:
        counts = table_states(head)
        waiting = counts.get("PENDING_CREATION", 0) + counts.get("DEPENDENCIES_UNREADY", 0)
        if counts.get("DEAD", 0) >= dead and waiting >= pending:
            return counts
        if time.monotonic() > deadline:
            raise RuntimeError(f"the actor table did not settle: {counts}")
        time.sleep(2)


#: A name prefix every benchmark name has (``actor-<12 random hex digits>``): a full page at
#: both sizes (a rarer prefix would fill only a page of one at 20 actors), and the prefix cut's
#: worst case, since it keeps every name.
PREFIX = "actor-"
QUERIES = {
    "detached": {"detached": "true"},
    "alive": {"state": "ALIVE"},
    "namespace": {"namespace": NAMESPACE},
    "prefix": {"prefix": PREFIX},
}


def measure(
    server: JupyterServer, head: local_head.LocalHead, rounds: int
) -> dict[str, list[float]]:
    """Interleaved rounds of our three pages, Ray's three listings and ListNamedActors."""
    from ray.util.state import list_actors

    def ours(params: dict[str, str], want: int) -> Callable[[], None]:
        def call() -> None:
            reply = server.session.get(
                server.url + API + "actors", params={**params, "limit": str(PAGE)}, timeout=120
            )
            reply.raise_for_status()
            page = reply.json()
            assert len(page["actors"]) >= want, (params, len(page["actors"]))

        return call

    def ray_detached() -> None:
        found = list_actors(
            address=head.dashboard_url, detail=True, limit=10_000, raise_on_missing_output=False
        )
        assert len([a for a in found if a.is_detached and a.name][:PAGE]) >= ALIVE

    def ray_alive() -> None:
        found = list_actors(
            address=head.dashboard_url,
            filters=[("state", "=", "ALIVE")],
            limit=PAGE,
            raise_on_missing_output=False,
        )
        assert len(found) >= ALIVE

    def ray_namespace() -> None:
        found = list_actors(
            address=head.dashboard_url,
            filters=[("ray_namespace", "=", NAMESPACE)],
            limit=PAGE,
            raise_on_missing_output=False,
        )
        assert len(found) >= ALIVE

    def ray_prefix() -> None:  # Ray's filters match names exactly: sift the whole table
        found = list_actors(address=head.dashboard_url, limit=10_000, raise_on_missing_output=False)
        assert isinstance([a for a in found if (a.name or "").startswith(PREFIX)][:PAGE], list)

    def names_rpc() -> None:
        _ray_compat.list_named_actors(head.address, 60)

    calls: dict[str, Callable[[], None]] = {
        "iog_detached": ours(QUERIES["detached"], ALIVE),
        "iog_alive": ours(QUERIES["alive"], ALIVE),
        "iog_namespace": ours(QUERIES["namespace"], ALIVE),
        "iog_prefix": ours(QUERIES["prefix"], 0),
        "ray_detached": ray_detached,
        "ray_alive": ray_alive,
        "ray_namespace": ray_namespace,
        "ray_prefix": ray_prefix,
        "list_named_actors": names_rpc,
    }
    for call in calls.values():  # warm up connections and caches
        call()
    samples: dict[str, list[float]] = {key: [] for key in calls}
    keys = list(calls)
    for i in range(rounds):
        shift = i % len(keys)
        for key in keys[shift:] + keys[:shift]:
            start = time.perf_counter()
            calls[key]()
            samples[key].append(time.perf_counter() - start)
    # Our pages alone, polled every 0.2 s as a sidebar and a CLI would (the machine not busy with
    # list_actors' whole-table answers, which load the dashboard and GCS on these 2 cores).
    for what in QUERIES:
        alone = samples.setdefault(f"iog_{what}_alone", [])
        for _ in range(rounds):
            time.sleep(0.2)
            start = time.perf_counter()
            calls[f"iog_{what}"]()
            alone.append(time.perf_counter() - start)
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


LABELS = {
    "iog_detached": "`GET actors?detached=true&limit=20` (iog)",
    "ray_detached": "`list_actors(detail=True, limit=10_000)`, sifted for detached",
    "iog_alive": "`GET actors?state=ALIVE&limit=20` (iog)",
    "ray_alive": '`list_actors(filters=[("state", "=", "ALIVE")], limit=20)`',
    "iog_namespace": f"`GET actors?namespace={NAMESPACE}&limit=20` (iog)",
    "ray_namespace": f'`list_actors(filters=[("ray_namespace", "=", "{NAMESPACE}")], limit=20)`',
    "iog_prefix": f"`GET actors?prefix={PREFIX}&limit=20` (iog)",
    "ray_prefix": "`list_actors(limit=10_000)`, sifted for the name prefix",
    "list_named_actors": "one `ListNamedActors` RPC (gRPC, in-process)",
}


def render(results: dict[str, Any]) -> str:
    small, big = results["small"], results["big"]
    top = f"{results['top']:,}"
    rows = [
        f"| what (p50) | 20 named | {top} named | growth | bar |",
        "|---|---|---|---|---|",
    ]
    labels = dict(LABELS)
    for what in QUERIES:
        labels[f"iog_{what}_alone"] = f"{LABELS[f'iog_{what}']}, polled alone every 0.2 s"
    for key, label in labels.items():
        a, b = median_ms(small["samples"][key]), median_ms(big["samples"][key])
        bar = f"≤ 1.5×: {'met' if b / a <= 1.5 else 'MISSED'}" if key.startswith("iog") else "—"
        rows.append(f"| {label} | {a:.1f} ms | {b:.1f} ms | {b / a:.2f}× | {bar} |")
    for what in QUERIES:
        cells = []
        for size in (small, big):
            ratio = median_ms(size["samples"][f"ray_{what}"]) / median_ms(
                size["samples"][f"iog_{what}"]
            )
            cells.append(f"{ratio:.2f}×")
        rows.append(f"| `list_actors` / iog, {what} | {cells[0]} | {cells[1]} | | |")
    rows.append(f"\nActor table: {small['table']} then {big['table']}.")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="grow to 1,000 named actors and 10 rounds"
    )
    parser.add_argument("--top", type=int, help="named actors at the big size (default 10,000)")
    parser.add_argument("--rounds", type=int, help="rounds per size (default 20; 10 with --quick)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    import ray

    rounds = args.rounds or (10 if args.quick else 20)
    top = args.top or (1_000 if args.quick else 10_000)
    dead = top // 10
    pending = top - ALIVE - dead
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "rounds": rounds,
        "top": top,
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
                log(f"making {ALIVE} alive detached actors (iog get_or_create, TTL 1 h)")
                filler = TableFiller(head, work_dir)
                try:
                    filler.grow(8, 2)
                    table = wait_for_table(head, 8, 2)
                    log(f"table {table}: {rounds} interleaved rounds")
                    results["small"] = {"table": table, "samples": measure(server, head, rounds)}
                    log(f"making named actors up to {top:,} ({pending:,} pending, {dead:,} dead)")
                    made = time.monotonic()
                    filler.grow(pending - 8, dead - 2)
                    table = wait_for_table(head, pending, dead)
                    results["make_s"] = time.monotonic() - made
                    log(f"table {table} after {results['make_s']:.0f} s: {rounds} rounds")
                    results["big"] = {"table": table, "samples": measure(server, head, rounds)}
                finally:
                    filler.stop()
    results["wall_s"] = time.monotonic() - began
    print(
        f"\niog_jupyter actor-listing benchmark — {results['date']}, {results['cpus']} CPUs, "
        f"Ray {results['ray']}, {rounds} rounds, {results['wall_s']:.0f} s wall "
        f"({results['make_s']:.0f} s to make the named actors)\n"
    )
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
