"""Load benchmark: one Jupyter server with iog_jupyter under many clients at once.

Starts a single-node loopback Ray head and ONE Jupyter server (benchmarks/harness.py) with the
Ray jobs backend, a 1 s refresh, and a benchmark-only probe extension inside the server
(``benchmarks/load_probe.py``: event-loop lag, the monitor's and the change feed's Ray calls,
RSS, the most bytes any websocket held unsent). Then, in one run:

1. **One client** (the reference), for ``--baseline-s``: one ``cluster/subscribe`` websocket,
   one ``events/subscribe`` websocket, and one REST client cycling the five GETs below.
2. A chatty job is submitted (``POST jobs``): it prints a numbered 80-byte line every 10 ms.
3. **Load**, for ``--duration-s`` (60 s; ``--quick`` 15 s), side by side:
   - 200 websocket clients (``--ws``), half on ``cluster/subscribe``, half on
     ``events/subscribe?topics=jobs,sessions,actors``;
   - 50 followers of the chatty job (``--followers``), ``WS jobs/{id}/logs/tail?offset=0``, all
     as the server's one user (token auth on a single-user server is one user), with
     ``IogJupyterApp.log_tail_max_clients_per_user`` raised for the run to followers + 8;
   - 100 REST clients (``--rest``), each cycling ``GET cluster``, ``GET jobs``, ``GET status``,
     ``GET sessions``, ``GET actors`` with one request every ``--rest-interval-s`` (1 s) per
     client, each on its own keep-alive connection, started at random phases.
   The followers run until the job's final status arrives (the job prints for the load window
   minus 10 s, so its end is delivered under load).

Reported: errors and connection resets (must be 0), whether every follower got every line of the
job's log exactly once (compared with the whole log read through ``GET jobs/{id}/logs`` after the
job ended), ``GET cluster`` p50/p99 (≤ 50 ms p99), the server's event-loop lag p99 (≤ 50 ms),
Ray calls per refresh interval under load vs with one client (must be equal), and the server's
RSS before, at the end of, and after the load.

The clients are asyncio with aiohttp, which iog_jupyter's ``ray[default]`` dependency installs.
They run in this one process on the same machine as the server, so the client's own event-loop
lag is measured and reported too (a late client inflates its latencies, never the server's lag).

Usage: ``python benchmarks/load.py [--quick] [--json out.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import API, REPO, JupyterServer, jupyter, local_head, log, ray_head

BENCH = Path(__file__).resolve().parent
REST_ROUTES = ["cluster", "jobs", "status", "sessions", "actors"]
LINE_PERIOD_S = 0.01
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def chatty_entrypoint(seconds: float) -> str:
    """A job printing ``line <n> <time> xxx…`` (80 bytes) every 10 ms for ``seconds``."""
    count = int(seconds / LINE_PERIOD_S)
    return (
        'python -u -c "import time; '
        f"[(print('line %07d %.6f ' % (i, time.time()) + 'x' * 50, flush=True), "
        f'time.sleep({LINE_PERIOD_S})) for i in range({count})]"'
    )


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def dist(samples: list[float], scale: float = 1000.0) -> dict[str, Any]:
    """p50/p99/max of ``samples`` (seconds) in ms, and how many."""
    return {
        "n": len(samples),
        "p50": statistics.median(samples) * scale if samples else float("nan"),
        "p99": pct(samples, 0.99) * scale,
        "max": max(samples) * scale if samples else float("nan"),
    }


# -- the clients ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What went wrong, across every client."""

    errors: Counter[str] = field(default_factory=Counter)
    resets: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def failed(self, what: str, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if _is_reset(error):
            self.resets[what] += 1
        else:
            self.errors[what] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{what}: {text[:300]}")


def _is_reset(error: BaseException | str) -> bool:
    import aiohttp

    if isinstance(error, ConnectionResetError | aiohttp.ServerDisconnectedError):
        return True
    if isinstance(error, aiohttp.ClientOSError) and error.errno in (errno.ECONNRESET, errno.EPIPE):
        return True
    return isinstance(error, str) and "reset" in error.lower()


class Load:
    """Every client of one phase, on one aiohttp session, against one server."""

    def __init__(self, server: JupyterServer, tally: Tally) -> None:
        import aiohttp

        self.server = server
        self.tally = tally
        self.base = server.url + API
        self.ws_base = self.base.replace("http://", "ws://")
        self.stop = asyncio.Event()
        # No pool limit: each REST client gets its own keep-alive connection.
        self.session = aiohttp.ClientSession(
            headers=server.headers,
            connector=aiohttp.TCPConnector(limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[str] = Counter()
        self.ws_messages: dict[str, list[int]] = defaultdict(list)
        self.ws_connect_s: list[float] = []

    async def close(self) -> None:
        await self.session.close()

    async def rest_client(self, interval_s: float, routes: list[str]) -> None:
        """One REST client: one GET every ``interval_s``, cycling the routes, from a random one."""
        start = random.randrange(len(routes))
        await asyncio.sleep(random.uniform(0, interval_s))  # random phase
        i = 0
        while not self.stop.is_set():
            route = routes[(start + i) % len(routes)]
            i += 1
            began = time.perf_counter()
            try:
                async with self.session.get(self.base + route) as reply:
                    await reply.read()
                    elapsed = time.perf_counter() - began
                    self.statuses[f"GET {route} {reply.status}"] += 1
                    if reply.status != 200:
                        self.tally.failed(f"GET {route}", f"HTTP {reply.status}")
                    else:
                        self.latency[route].append(elapsed)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                self.tally.failed(f"GET {route}", error)
                elapsed = time.perf_counter() - began
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), max(0.0, interval_s - elapsed))

    async def feed_client(self, path: str, kind: str) -> None:
        """One websocket on a push feed, reading every message until the phase ends."""
        import aiohttp

        received = 0
        began = time.perf_counter()
        try:
            async with self.session.ws_connect(self.ws_base + path, autoping=True) as ws:
                self.ws_connect_s.append(time.perf_counter() - began)
                reader = asyncio.ensure_future(ws.receive())
                stopping = asyncio.ensure_future(self.stop.wait())
                while True:
                    await asyncio.wait({reader, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if stopping.done() and not reader.done():
                        reader.cancel()
                        break
                    msg = reader.result()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        self.tally.failed(
                            f"WS {kind}", f"closed by the server: {msg.type.name} {ws.close_code}"
                        )
                        break
                    received += 1
                    data = json.loads(msg.data)
                    if data.get("type") == "status" and data.get("connected") is False:
                        self.tally.failed(f"WS {kind}", f"Ray down: {data.get('message')}")
                    reader = asyncio.ensure_future(ws.receive())
                stopping.cancel()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001
            self.tally.failed(f"WS {kind}", error)
        self.ws_messages[kind].append(received)


@dataclass
class FollowerResult:
    text: list[str] = field(default_factory=list)
    messages: int = 0
    gaps: int = 0
    status: str | None = None
    error: str | None = None
    done_at: float | None = None


async def follow(load: Load, submission_id: str, deadline: float) -> FollowerResult:
    """``WS jobs/{id}/logs/tail?offset=0`` until the job's status message (or the deadline)."""
    import aiohttp

    out = FollowerResult()
    expected = 0
    path = f"jobs/{submission_id}/logs/tail?offset=0"
    try:
        async with load.session.ws_connect(load.ws_base + path, autoping=True) as ws:
            while True:
                msg = await asyncio.wait_for(ws.receive(), max(0.1, deadline - time.monotonic()))
                if msg.type != aiohttp.WSMsgType.TEXT:
                    out.error = f"closed before the status: {msg.type.name} {ws.close_code}"
                    break
                data = json.loads(msg.data)
                if data["type"] == "log":
                    out.messages += 1
                    if data["offset"] != expected:
                        out.gaps += 1
                    expected = data["next_offset"]
                    out.text.append(data["text"])
                elif data["type"] == "status":
                    out.status = data["status"]
                    out.done_at = time.monotonic()
                    break
                else:
                    out.error = f"error message: {data.get('message')}"
                    break
    except asyncio.TimeoutError:
        out.error = "no status before the deadline"
    except Exception as error:  # noqa: BLE001
        out.error = f"{type(error).__name__}: {error}"
    if out.error:
        load.tally.failed("WS logs/tail", out.error)
    return out


async def client_loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """This process's own event-loop lag (the clients' side), sampled as the probe does."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + 0.05
        await asyncio.sleep(0.05)
        lags.append(max(0.0, loop.time() - due))


# -- phases ---------------------------------------------------------------------------------------


async def probe(load: Load) -> dict[str, Any]:
    async with load.session.get(load.server.url + "iog-load-probe") as reply:
        reply.raise_for_status()
        return await reply.json()


def window(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the probe saw between two reports: lag, Ray calls per interval, memory."""
    seconds = after["now"] - before["now"]
    intervals = seconds / after["refresh_interval_s"]
    lags = [lag for t, lag in after["lags"] if before["now"] <= t <= after["now"]]
    feed = {t: after["feed_calls"][t] - before["feed_calls"].get(t, 0) for t in after["feed_calls"]}
    polls = after["ray_calls"] - before["ray_calls"]
    return {
        "seconds": seconds,
        "intervals": intervals,
        "polls": polls,
        "polls_per_interval": polls / intervals,
        "feed_calls": feed,
        "feed_calls_per_interval": sum(feed.values()) / intervals,
        "loop_lag_ms": dist(lags),
        "late_over_50ms": sum(lag > 0.05 for lag in lags),
        "cpu_percent": 100 * (after["cpu_s"] - before["cpu_s"]) / seconds,
        "gc_pauses_ms": dist([p for t, _g, p in after["gc_pauses"] if before["now"] <= t]),
        "gc_gen2": sum(1 for t, g, _p in after["gc_pauses"] if before["now"] <= t and g == 2),
        "rss_start_mb": before["rss_bytes"] / 2**20,
        "rss_end_mb": after["rss_bytes"] / 2**20,
        "peak_rss_mb": after["peak_rss_bytes"] / 2**20,
        "cluster_subscribers": after["cluster_subscribers"],
        "feed_subscribers": after["feed_subscribers"],
        "open_websockets": after["open_websockets"],
        "max_unsent_bytes": after["max_unsent_bytes"],
    }


async def one_client(server: JupyterServer, tally: Tally, seconds: float) -> dict[str, Any]:
    """The reference: one UI's worth of clients."""
    load = Load(server, tally)
    try:
        await probe(load)  # starts the probe
        await asyncio.sleep(1.0)
        tasks = [
            asyncio.ensure_future(load.feed_client("cluster/subscribe", "cluster")),
            asyncio.ensure_future(
                load.feed_client("events/subscribe?topics=jobs,sessions,actors", "events")
            ),
            asyncio.ensure_future(load.rest_client(0.1, REST_ROUTES)),
        ]
        await asyncio.sleep(2.0)  # connected and baselined
        before = await probe(load)
        await asyncio.sleep(seconds)
        after = await probe(load)
        load.stop.set()
        await asyncio.gather(*tasks)
    finally:
        await load.close()
    return {
        "server": window(before, after),
        "latency_ms": {route: dist(values) for route, values in load.latency.items()},
        "ws_messages": dict(load.ws_messages),
    }


async def submit_chatty_job(server: JupyterServer, seconds: float) -> str:
    import aiohttp

    submission_id = f"bench-load-{os.urandom(4).hex()}"
    body = {"entrypoint": chatty_entrypoint(seconds), "submission_id": submission_id}
    async with aiohttp.ClientSession(headers=server.headers) as session:
        async with session.post(server.url + API + "jobs", json=body) as reply:
            assert reply.status == 201, (reply.status, await reply.text())
        end = time.monotonic() + 120
        while time.monotonic() < end:
            async with session.get(server.url + API + f"jobs/{submission_id}") as reply:
                status = (await reply.json())["status"]
            if status == "RUNNING":
                return submission_id
            assert status not in TERMINAL, status
            await asyncio.sleep(0.2)
    raise RuntimeError("the chatty job did not start within 120 s")


async def full_log(server: JupyterServer, submission_id: str) -> str:
    """The job's whole log, read page by page through ``GET jobs/{id}/logs`` once it ended."""
    import aiohttp

    parts, offset = [], 0
    async with aiohttp.ClientSession(headers=server.headers) as session:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            url = server.url + API + f"jobs/{submission_id}/logs"
            async with session.get(url, params={"offset": str(offset)}) as reply:
                page = await reply.json()
            parts.append(page["text"])
            offset = page["next_offset"]
            if page["eof"]:
                return "".join(parts)
            if not page["text"]:
                await asyncio.sleep(0.5)
    raise RuntimeError("the chatty job's log did not end within 120 s")


async def under_load(
    server: JupyterServer, tally: Tally, args: argparse.Namespace, submission_id: str
) -> dict[str, Any]:
    load = Load(server, tally)
    client_lags: list[float] = []
    lag_stop = asyncio.Event()
    lag_task = asyncio.ensure_future(client_loop_lag(lag_stop, client_lags))
    try:
        start = await probe(load)
        began = time.monotonic()
        client_cpu = time.process_time()
        load_avg = os.getloadavg()[0]
        follow_deadline = began + args.duration_s + 60
        followers = [
            asyncio.ensure_future(follow(load, submission_id, follow_deadline))
            for _ in range(args.followers)
        ]
        feeds = []
        for i in range(args.ws):
            if i % 2 == 0:
                feeds.append(load.feed_client("cluster/subscribe", "cluster"))
            else:
                feeds.append(
                    load.feed_client("events/subscribe?topics=jobs,sessions,actors", "events")
                )
        feed_tasks = [asyncio.ensure_future(f) for f in feeds]
        rest_tasks = [
            asyncio.ensure_future(load.rest_client(args.rest_interval_s, REST_ROUTES))
            for _ in range(args.rest)
        ]
        log(
            f"load: {args.ws} feed websockets, {args.followers} log followers, "
            f"{args.rest} REST clients, for {args.duration_s:g} s"
        )
        await asyncio.sleep(args.duration_s / 2)
        middle = await probe(load)
        await asyncio.sleep(began + args.duration_s - time.monotonic())
        end = await probe(load)
        client_cpu = time.process_time() - client_cpu
        load_avg_end = os.getloadavg()[0]
        load.stop.set()
        await asyncio.gather(*feed_tasks, *rest_tasks)
        stopped_at = time.monotonic()
        results = await asyncio.gather(*followers)
        followers_done = time.monotonic()
        lag_stop.set()
        await lag_task
        await asyncio.sleep(5.0)  # every socket closed, the server idle again
        after = await probe(load)
    finally:
        lag_stop.set()
        await load.close()
    return {
        "server": window(start, end),
        "server_first_half": window(start, middle),
        "server_second_half": window(middle, end),
        "rss_after_mb": after["rss_bytes"] / 2**20,
        "open_websockets_after": after["open_websockets"],
        "peak_rss_mb": after["peak_rss_bytes"] / 2**20,
        "max_unsent_bytes": after["max_unsent_bytes"],
        "latency_ms": {route: dist(values) for route, values in load.latency.items()},
        "requests": sum(load.statuses.values()),
        "statuses": dict(load.statuses),
        "ws_messages": {
            kind: {"min": min(v), "max": max(v), "n": len(v)}
            for kind, v in load.ws_messages.items()
        },
        "ws_connect_ms": dist(load.ws_connect_s),
        "client_loop_lag_ms": dist(client_lags),
        "client_cpu_percent": 100 * client_cpu / args.duration_s,
        "load_average": [load_avg, load_avg_end],
        "followers": results,
        "followers_after_load_s": max(
            ((r.done_at or followers_done) - stopped_at for r in results), default=0.0
        ),
    }


def check_followers(results: list[FollowerResult], log_text: str) -> dict[str, Any]:
    """Did every follower get every line exactly once? Compared with the whole log."""
    lines = log_text.splitlines()
    numbered = [line.split()[1] for line in lines if line.startswith("line ")]
    exact = 0
    problems = []
    for i, result in enumerate(results):
        text = "".join(result.text)
        got = [line.split()[1] for line in text.splitlines() if line.startswith("line ")]
        if text == log_text and got == numbered and len(set(got)) == len(got) and not result.gaps:
            exact += 1
        elif len(problems) < 5:
            problems.append(
                f"follower {i}: {len(got)} lines ({len(set(got))} distinct) of {len(numbered)}, "
                f"{result.gaps} gaps, status {result.status}, error {result.error}"
            )
    return {
        "followers": len(results),
        "exact": exact,
        "log_lines": len(numbered),
        "log_bytes": len(log_text.encode()),
        "messages_per_follower": dist([float(r.messages) for r in results], scale=1.0),
        "statuses": dict(Counter(r.status for r in results)),
        "problems": problems,
    }


def server_log_problems(server: JupyterServer) -> list[str]:
    text = server.log_path.read_text(errors="replace")
    return [
        line[:200]
        for line in text.splitlines()
        if "Traceback" in line or " ERROR " in line or "[E " in line
    ]


# -- report ---------------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    base, load = results["one_client"], results["load"]
    srv, ref = load["server"], base["server"]
    late = load["server_second_half"]
    late_feed = sum(late["feed_calls"].values())
    ref_polls = ref["polls_per_interval"] * late["intervals"]  # what one client's rate gives
    fol = results["followers"]
    tally = results["tally"]
    cluster, cluster_ref = (
        load["latency_ms"].get("cluster", {}),
        base["latency_ms"].get("cluster", {}),
    )
    errors, resets = sum(tally["errors"].values()), sum(tally["resets"].values())

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    rows = [
        "| what | under load | one client | ratio | figure |",
        "|---|---|---|---|---|",
        f"| errors (non-200, failed requests, websockets closed or failing early) | {errors} | "
        f"— | — | 0: {met(errors == 0)} |",
        f"| connection resets | {resets} | — | — | 0: {met(resets == 0)} |",
        f"| followers that got every line exactly once (= the job's whole log, "
        f"{fol['log_lines']} lines, {fol['log_bytes'] / 1024:.0f} KiB) | "
        f"{fol['exact']} / {fol['followers']} | — | — | all: "
        f"{met(fol['exact'] == fol['followers'])} |",
        f"| `GET cluster` p50 ({cluster['n']} requests under load) | {cluster['p50']:.1f} ms | "
        f"{cluster_ref['p50']:.1f} ms | {cluster['p50'] / cluster_ref['p50']:.1f}× | — |",
        f"| `GET cluster` p99 | {cluster['p99']:.1f} ms | {cluster_ref['p99']:.1f} ms | "
        f"{cluster['p99'] / cluster_ref['p99']:.1f}× | ≤ 50 ms: {met(cluster['p99'] <= 50)} |",
        f"| server event-loop lag p99 (50 ms probe; p50, max) | {srv['loop_lag_ms']['p99']:.1f} ms "
        f"({srv['loop_lag_ms']['p50']:.1f}, {srv['loop_lag_ms']['max']:.0f}) | "
        f"{ref['loop_lag_ms']['p99']:.1f} ms | — | ≤ 50 ms: "
        f"{met(srv['loop_lag_ms']['p99'] <= 50)} |",
        f"| monitor Ray calls (polls) per {results['refresh_interval_s']:g} s interval, steady "
        f"(2nd half of the load) | {late['polls_per_interval']:.2f} ({late['polls']} in "
        f"{late['seconds']:.0f} s) | {ref['polls_per_interval']:.2f} ({ref['polls']} in "
        f"{ref['seconds']:.0f} s) | {late['polls_per_interval'] / ref['polls_per_interval']:.2f}× "
        f"| equal ±1: {met(abs(late['polls'] - round(ref_polls)) <= 1)} |",
        f"| … over the whole load window, connects included | {srv['polls_per_interval']:.2f} "
        f"({srv['polls']} in {srv['seconds']:.0f} s) | {ref['polls_per_interval']:.2f} | "
        f"{srv['polls_per_interval'] / ref['polls_per_interval']:.2f}× | — |",
        "| change-feed Ray calls (fingerprints, 3 topics) per interval, steady (2nd half) | "
        f"{late['feed_calls_per_interval']:.2f} | {ref['feed_calls_per_interval']:.2f} | "
        f"{late['feed_calls_per_interval'] / ref['feed_calls_per_interval']:.2f}× | not more (±1 "
        f"round): {met(late_feed <= ref['feed_calls_per_interval'] * late['intervals'] + 3)} |",
        f"| … over the whole load window, connects included | "
        f"{srv['feed_calls_per_interval']:.2f} | {ref['feed_calls_per_interval']:.2f} | "
        f"{srv['feed_calls_per_interval'] / ref['feed_calls_per_interval']:.2f}× | — |",
        f"| server RSS: before the load → end of load → 5 s after the clients left (peak) | "
        f"{srv['rss_start_mb']:.0f} → {srv['rss_end_mb']:.0f} → {load['rss_after_mb']:.0f} MiB "
        f"({load['peak_rss_mb']:.0f}) | {ref['rss_end_mb']:.0f} MiB | "
        f"{srv['rss_end_mb'] / srv['rss_start_mb']:.2f}× | bounded |",
        f"| … first half → second half of the load | {load['server_first_half']['rss_end_mb']:.0f}"
        f" → {load['server_second_half']['rss_end_mb']:.0f} MiB | — | — | — |",
        f"| most bytes any websocket held unsent | {load['max_unsent_bytes'] / 1024:.0f} KiB | — "
        f"| — | ≤ `websocket_max_buffer_bytes` (4 MiB) |",
    ]
    for route in REST_ROUTES:
        if route == "cluster" or route not in load["latency_ms"]:
            continue
        d, r = load["latency_ms"][route], base["latency_ms"].get(route)
        ref_text = f"{r['p50']:.1f} / {r['p99']:.1f} ms" if r else "—"
        rows.append(
            f"| `GET {route}` p50 / p99 ({d['n']} requests) | {d['p50']:.1f} / {d['p99']:.1f} ms |"
            f" {ref_text} | {d['p50'] / r['p50']:.1f}× (p50) | — |"
        )
    cl = load["client_loop_lag_ms"]
    gcp = late["gc_pauses_ms"]
    ws = load["ws_messages"]
    rows += [
        f"| the clients' own event-loop lag p99 (p50, max), same machine | {cl['p99']:.1f} ms "
        f"({cl['p50']:.1f}, {cl['max']:.0f}) | — | — | — |",
        f"| server process CPU (all threads, % of one core), steady 2nd half | "
        f"{late['cpu_percent']:.0f} % | {ref['cpu_percent']:.0f} % | — | — |",
        f"| … loop-lag samples over 50 ms, 2nd half; GC pauses there: n, p99, max "
        f"(gen-2 runs) | {late['late_over_50ms']} of {late['loop_lag_ms']['n']}; {gcp['n']}, "
        f"{gcp['p99']:.1f}, {gcp['max']:.1f} ms ({late['gc_gen2']}) | — | — | — |",
        f"| the clients' process CPU (% of one core); machine load average start → end | "
        f"{load['client_cpu_percent']:.0f} %; {load['load_average'][0]:.1f} → "
        f"{load['load_average'][1]:.1f} | — | — | — |",
        f"| websocket connect (upgrade) p50 / p99, {load['ws_connect_ms']['n']} feeds at once | "
        f"{load['ws_connect_ms']['p50']:.0f} / {load['ws_connect_ms']['p99']:.0f} ms | — | — | — |",
        "| messages per feed client (min–max): cluster / events | "
        + " / ".join(f"{ws[k]['min']}–{ws[k]['max']}" for k in ("cluster", "events") if k in ws)
        + " | — | — | — |",
        "| log messages per follower (p50, max); last status delivered "
        f"{abs(load['followers_after_load_s']):.1f} s "
        f"{'after' if load['followers_after_load_s'] >= 0 else 'before'} the load ended | "
        f"{fol['messages_per_follower']['p50']:.0f}, "
        f"{fol['messages_per_follower']['max']:.0f} | — | — | — |",
        f"| REST requests in the load window | {load['requests']} "
        f"({load['requests'] / srv['seconds']:.0f}/s) | — | — | — |",
    ]
    return "\n".join(rows)


def probe_config(work_dir: Path) -> Path:
    """A Jupyter config dir that enables ``load_probe`` (merged with the command line's)."""
    config = work_dir / "probe-config"
    (config / "jupyter_server_config.d").mkdir(parents=True)
    enable = {"ServerApp": {"jpserver_extensions": {"load_probe": True}}}
    (config / "jupyter_server_config.d" / "load_probe.json").write_text(json.dumps(enable))
    return config


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 s, fewer clients (a check)")
    parser.add_argument("--duration-s", type=float)
    parser.add_argument("--baseline-s", type=float)
    parser.add_argument("--ws", type=int, help="feed websockets (cluster + events)")
    parser.add_argument("--followers", type=int, help="log followers of the chatty job")
    parser.add_argument("--rest", type=int, help="REST clients")
    parser.add_argument("--rest-interval-s", type=float, default=1.0)
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    quick = {"duration_s": 15.0, "baseline_s": 6.0, "ws": 40, "followers": 10, "rest": 20}
    full = {"duration_s": 60.0, "baseline_s": 15.0, "ws": 200, "followers": 50, "rest": 100}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

    import ray

    refresh_s = 1.0
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "ray": ray.__version__,
        "quick": args.quick,
        "args": vars(args),
        "refresh_interval_s": refresh_s,
    }
    began = time.monotonic()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="iogload") as work:
        work_dir = Path(work)
        token_path = str(local_head.ensure_token_file(work_dir / "ray_token"))
        with ray_head(token_path) as head:
            server = JupyterServer(
                head,
                work_dir,
                [
                    "--IogJupyterApp.jobs_backend=ray",
                    "--IogJupyterApp.request_timeout_s=60",
                    f"--IogJupyterApp.refresh_interval_s={refresh_s}",
                    f"--IogJupyterApp.jobs_state_dir={work_dir / 'iog_state'}",
                    # One user (token auth): the followers all count against this user's cap.
                    f"--IogJupyterApp.log_tail_max_clients_per_user={args.followers + 8}",
                ],
                {
                    "RAY_DASHBOARD_ADDRESS": head.dashboard_url,
                    # Enables the probe next to iog_jupyter (the harness names only that one).
                    "JUPYTER_CONFIG_PATH": str(probe_config(work_dir)),
                    "PYTHONPATH": os.pathsep.join(
                        filter(None, [str(REPO), str(BENCH), os.environ.get("PYTHONPATH")])
                    ),
                },
            )
            with jupyter(server):

                async def run() -> None:
                    log(f"1. one client, {args.baseline_s:g} s")
                    results["one_client"] = await one_client(server, tally, args.baseline_s)
                    job_s = max(5.0, args.duration_s - 10)
                    log(f"2. submitting a job that prints 100 lines/s for {job_s:g} s")
                    submission_id = await submit_chatty_job(server, job_s)
                    log("3. load")
                    results["load"] = await under_load(server, tally, args, submission_id)
                    followers = results["load"].pop("followers")
                    results["followers"] = check_followers(
                        followers, await full_log(server, submission_id)
                    )

                asyncio.run(run())
                results["server_log_problems"] = server_log_problems(server)
    results["tally"] = {
        "errors": dict(tally.errors),
        "resets": dict(tally.resets),
        "examples": tally.examples,
    }
    results["wall_s"] = time.monotonic() - began
    print(
        f"\niog_jupyter load benchmark — {results['date']}, {results['cpus']} CPUs, "
        f"Ray {results['ray']}, {'quick' if args.quick else 'full'} run "
        f"({args.ws} feed websockets, {args.followers} followers, {args.rest} REST clients, "
        f"{args.duration_s:g} s), {results['wall_s']:.0f} s\n"
    )
    print(render(results))
    for key in ("examples",):
        for line in results["tally"][key]:
            print("  error:", line)
    for line in results["followers"]["problems"]:
        print("  follower:", line)
    for line in results["server_log_problems"][:10]:
        print("  server log:", line)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
