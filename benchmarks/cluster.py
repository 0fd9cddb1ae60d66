"""Cluster benchmarks: iog_jupyter's cluster view side by side with what a user would use instead.

One command, one run, everything measured together (see benchmarks/README.md for a recorded run):

    python benchmarks/cluster.py [--quick] [--json out.json]

It starts its own Ray heads under private temp dirs (token auth, dashboard on 127.0.0.1) and
Jupyter servers with the iog_jupyter extension, stops exactly those processes at the end (also on
Ctrl-C or an error), and prints a markdown table:

1. ``GET cluster`` (the monitor's cached snapshot) vs ``ray status`` and the dashboard's
   ``/api/cluster_status`` (plain, and ``?format=1`` which the dashboard's own page polls).
2. Ray calls per window with 1 vs 50 subscribers: an in-process ``ClusterMonitor`` (its
   ``ray_calls`` counter) and the real server (one ``cluster/history`` point per poll).
3. A worker node joining and leaving a multi-node head: time until the websocket feed shows it,
   from ``ray start`` returning / SIGTERM, and from Ray's own registration (a tight loop of
   ``get_cluster_status`` run by this script).
4. ``usage_by_node_id`` + ``build_snapshot`` + ``json.dumps`` on FakeClusterStatus (2,000 nodes,
   100k actors; a generated fixture), the change fingerprint, and the dashboard reply's decode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
import websocket

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(BENCH_DIR)]

import fake_cluster  # noqa: E402
from harness import (  # noqa: E402
    API,
    JupyterServer,
    jupyter,
    log,
    processes_of_node,
    ray_head,
    start_worker_node,
)

from iog_jupyter.core import cluster, local_head  # noqa: E402
from iog_jupyter.core.connection import RayConnection  # noqa: E402
from iog_jupyter.core.errors import IogError  # noqa: E402
from iog_jupyter.core.monitor import ClusterMonitor, change_key  # noqa: E402

REFRESH_INTERVAL_S = 1.0


def summarize(samples_s: list[float]) -> dict[str, float]:
    """Median, p90, min and count of timings, in milliseconds."""
    ordered = sorted(samples_s)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000,
        "min_ms": ordered[0] * 1000,
        "n": len(ordered),
    }


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 0) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


class WsFeed:
    """One websocket client of ``cluster/subscribe``, read by a thread; keeps what it saw."""

    def __init__(self, server: JupyterServer, keep: bool = False) -> None:
        url = server.url.replace("http://", "ws://") + API + "cluster/subscribe"
        header = [f"Authorization: {server.headers['Authorization']}"]
        self.ws = websocket.create_connection(url, header=header, suppress_origin=True, timeout=30)
        self.ws.settimeout(None)
        self.keep = keep
        self.count = 0
        #: (monotonic time, {node_id: state}) per snapshot message, when ``keep``.
        self.snapshots: list[tuple[float, dict[str, str]]] = []
        self.first = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                message = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            now = time.monotonic()
            self.count += 1
            self.first.set()
            if self.keep and message:
                data = json.loads(message)
                if data.get("type") == "snapshot":
                    states = {n["node_id"]: n["state"] for n in data["data"]["nodes"]}
                    self.snapshots.append((now, states))

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.ws.send_close()
        self.thread.join(2)
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.ws.shutdown()


# -- 1. GET cluster vs ray status vs the dashboard -----------------------------------------------


def bench_get_cluster(
    server: JupyterServer, head: local_head.LocalHead, conn: RayConnection, quick: bool
) -> dict[str, Any]:
    session = requests.Session()
    session.headers.update(server.headers)
    url = server.url + API + "cluster"
    body = session.get(url, timeout=10).json()
    assert body["nodes"], body

    def get_cluster() -> None:
        reply = session.get(url, timeout=10)
        assert reply.status_code == 200

    log("GET cluster (keep-alive session)")
    ours = timed(get_cluster, repeat=100 if quick else 200, warmup=20)

    log("one poll in-process: get_cluster_snapshot (what the cache saves)")
    poll = timed(lambda: cluster.get_cluster_snapshot(conn), repeat=10 if quick else 30, warmup=2)

    dashboard = requests.Session()
    dashboard.headers["Authorization"] = f"Bearer {Path(head.token_path).read_text().strip()}"
    results: dict[str, Any] = {"get_cluster": summarize(ours), "poll_in_process": summarize(poll)}
    for name, path in (
        ("dashboard_cluster_status", "/api/cluster_status"),
        ("dashboard_cluster_status_format", "/api/cluster_status?format=1"),
    ):
        log(f"dashboard {path}")

        def fetch(path: str = path) -> None:
            reply = dashboard.get(head.dashboard_url + path, timeout=30)
            assert reply.status_code == 200, reply.status_code

        results[name] = summarize(timed(fetch, repeat=20 if quick else 50, warmup=3))

    env = dict(os.environ)
    env.pop("RAY_AUTH_TOKEN", None)
    env.update(head.env())
    # head.env() carries RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 for a single-node head: without it
    # the CLI rewrites 127.0.0.1 to the host's address and times out after ~45 s (Ray 2.60).
    ray_cmd = [str(Path(sys.executable).with_name("ray")), "status", f"--address={head.address}"]

    def ray_status() -> None:
        done = subprocess.run(ray_cmd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Resources" in done.stdout, done.stderr[-500:]

    log("`ray status` CLI")
    results["ray_status"] = summarize(
        timed(ray_status, repeat=2 if quick else 5, warmup=0 if quick else 1)
    )
    results["payload_bytes"] = len(json.dumps(body, separators=(",", ":")))
    return results


# -- 2. Ray calls with 1 vs 50 subscribers -------------------------------------------------------


async def _monitor_calls(conn: RayConnection, window_s: float) -> dict[str, Any]:
    monitor = ClusterMonitor(conn, refresh_interval_s=REFRESH_INTERVAL_S)
    heard = [0] * 50

    def listener(i: int) -> Callable[[str, str], None]:
        def on_message(kind: str, message: str) -> None:
            heard[i] += 1

        return on_message

    monitor.subscribe(listener(0))
    monitor.start()
    try:
        await asyncio.sleep(1.5)
        calls_0 = monitor.ray_calls
        await asyncio.sleep(window_s)
        calls_1 = monitor.ray_calls
        for i in range(1, 50):
            monitor.subscribe(listener(i))
        before = list(heard)
        calls_2 = monitor.ray_calls
        await asyncio.sleep(window_s)
        calls_3 = monitor.ray_calls
    finally:
        await monitor.stop()
    told = [h - b for h, b in zip(heard, before, strict=True)]
    return {
        "calls_1_subscriber": calls_1 - calls_0,
        "calls_50_subscribers": calls_3 - calls_2,
        "messages_per_subscriber_50": [min(told), max(told)],
    }


def _history_points(server: JupyterServer, since_ms: int, until_ms: int) -> int:
    points = server.get("cluster/history", since_ms=since_ms)["points"]
    return sum(1 for p in points if since_ms < p["timestamp_ms"] <= until_ms)


def bench_subscribers(server: JupyterServer, conn: RayConnection, quick: bool) -> dict[str, Any]:
    window_s = 3.0 if quick else 10.0
    log(f"in-process ClusterMonitor: Ray calls in {window_s:g} s with 1 vs 50 subscribers")
    in_process = asyncio.run(_monitor_calls(conn, window_s))

    log(f"Jupyter server: polls (history points) in {window_s:g} s with 1 vs 50 websockets")
    feeds = [WsFeed(server)]
    try:
        assert feeds[0].first.wait(30), "no snapshot on connect"
        time.sleep(1.5)
        start_ms = int(time.time() * 1000)
        time.sleep(window_s)
        one = _history_points(server, start_ms, int(time.time() * 1000))
        feeds += [WsFeed(server) for _ in range(49)]
        assert all(f.first.wait(30) for f in feeds), "a websocket got no snapshot on connect"
        subscribers = server.get("status")["subscribers"]
        counts = [f.count for f in feeds]
        start_ms = int(time.time() * 1000)
        time.sleep(window_s)
        fifty = _history_points(server, start_ms, int(time.time() * 1000))
        told = [f.count - c for f, c in zip(feeds, counts, strict=True)]
    finally:
        for feed in feeds:
            feed.close()
    return {
        "window_s": window_s,
        "refresh_interval_s": REFRESH_INTERVAL_S,
        "in_process": in_process,
        "server": {
            "polls_1_websocket": one,
            "polls_50_websockets": fifty,
            "subscribers_reported": subscribers,
            "messages_per_websocket_50": [min(told), max(told)],
        },
    }


# -- 3. a node joining and leaving ---------------------------------------------------------------


class StatusPoller:
    """A tight loop of Ray's ``get_cluster_status``: when Ray itself knows of a node change."""

    def __init__(self, conn: RayConnection, pause_s: float = 0.02) -> None:
        self.conn = conn
        self.pause_s = pause_s
        self.records: list[tuple[float, set[str]]] = []  # (answer time, live node ids)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = cluster.fetch_cluster_status(self.conn)
            except IogError:
                self._stop.wait(self.pause_s)
                continue
            live = {n.node_id for n in status.active_nodes + status.idle_nodes}
            self.records.append((time.monotonic(), live))
            self._stop.wait(self.pause_s)

    def first(self, after: float, test: Callable[[set[str]], bool]) -> float | None:
        return next((t for t, live in list(self.records) if t >= after and test(live)), None)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)


def _wait_ws(
    feed: WsFeed, after: float, test: Callable[[dict[str, str]], bool], deadline_s: float = 30
) -> tuple[float, dict[str, str]]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for t, states in list(feed.snapshots):
            if t >= after and test(states):
                return t, states
        time.sleep(0.01)
    raise RuntimeError("the websocket feed never showed the change")


def bench_join_leave(
    head: local_head.LocalHead, server: JupyterServer, conn: RayConnection, rounds: int
) -> dict[str, Any]:
    results: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    feed = WsFeed(server, keep=True)
    poller = StatusPoller(conn)
    try:
        assert feed.first.wait(30), "no snapshot on connect"
        for round_no in range(rounds):
            time.sleep(1.0)
            before = {n for n, s in feed.snapshots[-1][1].items() if s != "DEAD"}
            log(f"join/leave round {round_no + 1}: `ray start` of a worker node")
            t_start = time.monotonic()
            start_worker_node(head, num_cpus=1)
            t_returned = time.monotonic()

            def joined(states: dict[str, str], before: set[str] = before) -> bool:
                return any(n not in before and v != "DEAD" for n, v in states.items())

            t_ws, states = _wait_ws(feed, t_start, joined)
            node_id = next(n for n, v in states.items() if n not in before and v != "DEAD")
            t_ray = poller.first(t_start, lambda live, n=node_id: n in live)
            add("ray_start_s", t_returned - t_start)
            add("join_from_ray_start_return_s", t_ws - t_returned)
            if t_ray is not None:
                add("join_ray_registration_after_return_s", t_ray - t_returned)
                add("join_from_ray_registration_s", t_ws - t_ray)

            log(f"join/leave round {round_no + 1}: SIGTERM to the worker's raylet")
            pids = processes_of_node(head.temp_dir, node_id)
            assert pids, "the worker's raylet was not found"
            t_kill = time.monotonic()
            local_head.stop_processes(pids, grace_s=10)
            t_ws_gone, _ = _wait_ws(feed, t_kill, lambda s, n=node_id: s.get(n, "DEAD") == "DEAD")
            t_ray_gone = poller.first(t_kill, lambda live, n=node_id: n not in live)
            add("leave_from_sigterm_s", t_ws_gone - t_kill)
            if t_ray_gone is not None:
                add("leave_ray_marks_dead_after_sigterm_s", t_ray_gone - t_kill)
                add("leave_from_ray_marking_dead_s", t_ws_gone - t_ray_gone)
    finally:
        poller.stop()
        feed.close()
    summary: dict[str, Any] = {
        k: {"median_s": statistics.median(v), "all_s": v} for k, v in results.items()
    }
    summary["rounds"] = rounds
    summary["dashboard_refresh_interval_ms"] = dashboard_refresh_interval_ms()
    return summary


def dashboard_refresh_interval_ms() -> int | None:
    """``API_REFRESH_INTERVAL_MS`` of the installed Ray dashboard (its node page's polling).

    Read from the source map shipped with Ray's dashboard build (``common/constants.ts``).
    """
    import ray.dashboard

    build = Path(ray.dashboard.__file__).parent / "client" / "build" / "static" / "js"
    for source_map in sorted(build.glob("main.*.js.map")):
        data = json.loads(source_map.read_text())
        for name, text in zip(data["sources"], data.get("sourcesContent") or [], strict=False):
            if name.endswith("common/constants.ts") and text:
                for line in text.splitlines():
                    if "API_REFRESH_INTERVAL_MS" in line and "=" in line:
                        return int(line.split("=")[1].strip().rstrip(";").replace("_", ""))
    return None


# -- 4. 2,000 nodes, 100k actors (generated) -----------------------------------------------------


def bench_fake_cluster(quick: bool) -> dict[str, Any]:
    log("generating FakeClusterStatus: 2,000 nodes, 100k actors")
    start = time.perf_counter()
    fake = fake_cluster.make_fake_cluster_status(num_nodes=2000, num_actors=100_000, seed=0)
    generated_s = time.perf_counter() - start
    parts: dict[str, list[float]] = {
        k: [] for k in ("usage", "build", "serialize", "total", "fingerprint", "with_fingerprint")
    }
    size = 0
    previous_key = None
    for _ in range(3 if quick else 10):
        gc.collect()
        t0 = time.perf_counter()
        usage = cluster.usage_by_node_id(fake.summary_reply)
        t1 = time.perf_counter()
        snapshot = cluster.build_snapshot(fake.status, usage, timestamp_ms=1)
        t2 = time.perf_counter()
        data = snapshot.model_dump()
        text = snapshot.model_dump_json()
        t3 = time.perf_counter()
        # What the monitor does per poll: build the change key and compare it with the last one
        # (equal from the second round on: the costly case, every key compared).
        key = change_key(data)
        changed = key != previous_key
        previous_key = key
        t4 = time.perf_counter()
        assert changed or previous_key is key
        size = len(text)
        for key, value in (
            ("usage", t1 - t0),
            ("build", t2 - t1),
            ("serialize", t3 - t2),
            ("total", t3 - t0),
            ("fingerprint", t4 - t3),
            ("with_fingerprint", t4 - t0),
        ):
            parts[key].append(value)
    log("decoding the dashboard's /nodes?view=summary reply for that cluster")
    reply_text = json.dumps(fake.summary_reply, separators=(",", ":"))
    del fake, usage, snapshot, data, text
    gc.collect()
    decode = timed(lambda: json.loads(reply_text), repeat=1 if quick else 3)
    results = {k: summarize(v) for k, v in parts.items()}
    results["decode_summary_reply"] = summarize(decode)
    results["summary_reply_bytes"] = len(reply_text)
    results["snapshot_bytes"] = size
    results["generate_s"] = generated_s
    return results


# -- the table -----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _ratio(value: float) -> str:
    return f"{value:.1f}×" if value < 10 else f"{value:.0f}×"


def render(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    if "get_cluster" in results:
        r = results["get_cluster"]
        ours = r["get_cluster"]["p50_ms"]
        rows.append(
            (
                f"`GET cluster` warm, keep-alive (p50; p90 {_ms(r['get_cluster']['p90_ms'])})",
                _ms(ours),
                "—",
                "—",
                f"≤ 5 ms: {'met' if ours <= 5 else 'MISSED'}",
            )
        )
        for key, label in (
            ("ray_status", "`ray status` CLI (p50 of wall time)"),
            ("dashboard_cluster_status", "dashboard `/api/cluster_status` (p50)"),
            ("dashboard_cluster_status_format", "dashboard `/api/cluster_status?format=1` (p50)"),
            ("poll_in_process", "one poll behind the cache: `get_cluster_snapshot` (p50)"),
        ):
            theirs = r[key]["p50_ms"]
            target = "—"
            if key == "ray_status":
                target = f"≥ 100×: {'met' if theirs / ours >= 100 else 'MISSED'}"
            rows.append((f"… vs {label}", _ms(ours), _ms(theirs), _ratio(theirs / ours), target))
    if "subscribers" in results:
        s = results["subscribers"]
        window = f"{s['window_s']:g} s at {s['refresh_interval_s']:g} s refresh"
        for key, label, one, fifty in (
            (
                "in_process",
                "Ray calls, in-process `ClusterMonitor`",
                "calls_1_subscriber",
                "calls_50_subscribers",
            ),
            (
                "server",
                "polls (history points), Jupyter server",
                "polls_1_websocket",
                "polls_50_websockets",
            ),
        ):
            a, b = s[key][one], s[key][fifty]
            rows.append(
                (
                    f"{label}, {window}: 50 subscribers vs 1",
                    f"{b} (50 subscribers)",
                    f"{a} (1 subscriber)",
                    _ratio(b / a) if a else "—",
                    f"equal ±1: {'met' if abs(a - b) <= 1 else 'MISSED'}",
                )
            )
        low, high = s["server"]["messages_per_websocket_50"]
        rows.append(
            (
                "… messages each of the 50 websockets got in that window (min–max)",
                f"{low}–{high}",
                "—",
                "—",
                "—",
            )
        )
    if "join_leave" in results:
        j = results["join_leave"]
        bar = REFRESH_INTERVAL_S + 1.0
        dash = j.get("dashboard_refresh_interval_ms")
        dash_text = f"polls every {dash / 1000:g} s (not measured)" if dash else "not measured"
        for key, label in (
            ("join_from_ray_start_return_s", "node joins → WS feed, from `ray start` returning"),
            ("join_from_ray_registration_s", "node joins → WS feed, from Ray's registration"),
            ("leave_from_sigterm_s", "node leaves → WS feed, from SIGTERM to its raylet"),
            ("leave_from_ray_marking_dead_s", "node leaves → WS feed, from Ray marking it DEAD"),
        ):
            if key in j:
                value = j[key]["median_s"]
                rows.append(
                    (
                        f"{label} (median of {j['rounds']})",
                        f"{value:.2f} s" + (" (before it returned)" if value < 0 else ""),
                        f"dashboard {dash_text}",
                        "—",
                        f"≤ {bar:g} s: {'met' if value <= bar else 'MISSED'}",
                    )
                )
    if "fake_cluster" in results:
        f = results["fake_cluster"]
        total = f["total"]["p50_ms"]
        rows.append(
            (
                "FakeClusterStatus 2,000 nodes / 100k actors: usage + build + serialize (p50)",
                _ms(total),
                "—",
                "—",
                f"≤ 200 ms: {'met' if total <= 200 else 'MISSED'}",
            )
        )
        for key, label in (
            ("usage", "… of which `usage_by_node_id`"),
            ("build", "… of which `build_snapshot`"),
            ("serialize", "… of which `model_dump` + `model_dump_json`"),
            ("fingerprint", "+ change detection (`change_key`, compared with the last)"),
            ("with_fingerprint", "usage + build + serialize + change detection"),
            ("decode_summary_reply", "decode of the dashboard's node summary reply, per poll"),
        ):
            value = f[key]["p50_ms"]
            target = "—"
            if key == "with_fingerprint":
                target = f"≤ 200 ms: {'met' if value <= 200 else 'MISSED'}"
            rows.append((label, _ms(value), "—", "—", target))
    lines = [
        "| what | iog_jupyter | instead | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and one multi-node head for every part (about 90 s on an idle machine)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument(
        "--only",
        choices=("get", "subscribers", "join", "fake"),
        action="append",
        help="run only these parts (repeatable); all by default",
    )
    args = parser.parse_args(argv)
    parts = set(args.only or ("get", "subscribers", "join", "fake"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks

    import ray

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "quick": args.quick,
    }
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iogbench") as work:
        work_dir = Path(work)
        token_path = str(local_head.ensure_token_file(work_dir / "ray_token"))

        @contextlib.contextmanager
        def stack(single_node: bool) -> Iterator[tuple[Any, JupyterServer, RayConnection]]:
            with (
                ray_head(token_path, single_node) as head,
                jupyter(
                    JupyterServer(
                        head,
                        work_dir,
                        [f"--IogJupyterApp.refresh_interval_s={REFRESH_INTERVAL_S}"],
                    )
                ) as server,
            ):
                conn = RayConnection(address=head.address, token_path=token_path)
                try:
                    yield head, server, conn
                finally:
                    conn.close()

        def run_get_and_subscribers(head: Any, server: JupyterServer, conn: RayConnection) -> None:
            if "get" in parts:
                results["get_cluster"] = bench_get_cluster(server, head, conn, args.quick)
            if "subscribers" in parts:
                results["subscribers"] = bench_subscribers(server, conn, args.quick)

        if "fake" in parts:  # first: pure CPU, nothing of ours running yet
            results["fake_cluster"] = bench_fake_cluster(args.quick)
        if args.quick and parts & {"get", "subscribers", "join"}:
            # One head for everything: multi-node, so that a worker node can join.
            with stack(single_node=False) as (head, server, conn):
                run_get_and_subscribers(head, server, conn)
                if "join" in parts:
                    results["join_leave"] = bench_join_leave(head, server, conn, rounds=1)
        else:
            if parts & {"get", "subscribers"}:
                # The recommended one-machine set-up: every Ray port on 127.0.0.1.
                with stack(single_node=True) as (head, server, conn):
                    run_get_and_subscribers(head, server, conn)
            if "join" in parts:
                with stack(single_node=False) as (head, server, conn):
                    results["join_leave"] = bench_join_leave(head, server, conn, rounds=2)
    results["wall_s"] = time.monotonic() - began
    table = render(results)
    print(
        f"\niog_jupyter cluster benchmarks — {results['date']}, {results['cpus']} CPUs, "
        f"Ray {results['ray']}, {'quick' if args.quick else 'full'} run, "
        f"{results['wall_s']:.0f} s\n"
    )
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
