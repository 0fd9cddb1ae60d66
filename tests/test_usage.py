"""Usage accounting: the integration rule on recorded samples, the store, and the real thing.

The live test runs two drivers on the real head that each hold one logical GPU (the head has
two) for a known time, and checks ``GET usage`` against the times the drivers printed; then the
figures through a restarted store, the CLI (table, JSON, CSV) and bad parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import time

import pytest

from iog_jupyter.core.errors import ValidationError
from iog_jupyter.core.usage import Holding, UsageAccountant, UsageStore, build_report
from iog_jupyter.core.usage.holdings import holdings
from iog_jupyter.core.usage.store import _SCHEMA, Bucket, minute_of
from iog_jupyter.core.wire import GpuUsage, NodeUsage, SessionRecord
from tests.fixtures import REPO, api, ray_env, server_config

GPU_HOLDER = REPO / "tests" / "drivers" / "gpu_holder.py"
#: The server's sample interval in the live test.
INTERVAL_S = 1.0
#: Beyond one interval at each end: a sample's time is taken once its three GCS reads are back
#: (tens of ms, more on a loaded machine), and Ray marks a killed actor dead a moment after
#: ``ray.kill`` returns; the drivers' own clocks bracket the holding only to that precision.
SLACK_S = 0.5
T0 = 1_800_000_000_000  # a recorded sample's time (ms), on a minute boundary


def held(key: str, gpus: float, cpus: float = 0.0, util: float | None = None, user: str = "ann"):
    return Holding(
        key,
        "notebook",
        f"{key}.ipynb",
        user,
        resources={"GPU": gpus, "CPU": cpus},
        gpu_utilization_percent=util,
    )


def store_at(tmp_path, **limits) -> UsageStore:
    return UsageStore(str(tmp_path / "usage.sqlite"), **limits)


def report(store, group_by="session", since=None, until=None, interval=10.0):
    return build_report(
        store,
        since or str(T0 - 3_600_000),
        until or str(T0 + 3_600_000),
        group_by,
        interval,
        now_ms=T0 + 3_600_000,
    )


# -- the integration rule, on recorded samples ------------------------------------------------


def test_each_sample_counts_until_the_next_capped_at_twice_the_interval(tmp_path):
    acc = UsageAccountant(store_at(tmp_path), sample_interval_s=10.0)
    acc.record(T0, [held("a", 2, cpus=1, util=50)])
    acc.record(T0 + 10_000, [held("a", 2, cpus=1, util=30), held("b", 1)])
    acc.record(T0 + 5_000, [])  # older than the last sample (two polls raced): dropped
    # The server was down for 100 s: the sample before the gap counts for 20 s only.
    acc.record(T0 + 110_000, [held("b", 1)])
    acc.record(T0 + 120_000, [])
    rows = {r.key: r for r in acc.report(str(T0 - 60_000), str(T0 + 600_000)).rows}
    a, b = rows["a"], rows["b"]
    assert a.gpu_seconds == pytest.approx(2 * 10 + 2 * 20)
    assert a.cpu_seconds == pytest.approx(30)
    assert a.held_seconds == pytest.approx(30)
    assert a.gpu_utilization_percent == pytest.approx((50 * 20 + 30 * 40) / 60)
    assert a.max_gpus == 2
    assert (a.first_seen_ms, a.last_seen_ms) == (T0, T0 + 10_000)
    assert b.gpu_seconds == pytest.approx(20 + 10)
    assert b.gpu_utilization_percent is None and "utilisation not reported" in b.summary
    assert [r.key for r in acc.report(str(T0 - 60_000), str(T0 + 600_000)).rows] == ["a", "b"]
    assert a.summary == "held 2 GPUs for 30 s, used 37 %"


def test_groups_sum_their_members_and_the_window_is_by_minute(tmp_path):
    acc = UsageAccountant(store_at(tmp_path), sample_interval_s=10.0)
    acc.record(T0, [held("a", 1), held("b", 1, user="bob"), held("c", 1)])
    acc.record(T0 + 10_000, [])
    acc.record(T0 + 120_000, [held("a", 1)])  # two minutes later
    acc.record(T0 + 130_000, [])
    acc.flush()
    users = {r.key: r for r in report(acc.store, "user").rows}
    assert {k: r.gpu_seconds for k, r in users.items()} == {
        "ann": pytest.approx(30),
        "bob": pytest.approx(10),
    }
    # Ann's two sessions held a GPU each over the same 10 s, then one more 10 s: 2 GPUs for 10
    # s and 1 GPU for 10 s is 20 s of holding, not the 30 s a sum of her sessions would give.
    assert users["ann"].held_seconds == pytest.approx(20)
    assert users["ann"].summary == "held 1.5 GPUs for 20 s, utilisation not reported"
    late = report(acc.store, since=str(T0 + 60_000))
    assert [(r.key, r.gpu_seconds) for r in late.rows] == [("a", pytest.approx(10))]


def reference_rows(raw: list[Bucket], since_ms: int, until_ms: int, group_by: str, job_name):
    """The reference: the first version's report rows, computed in Python from the raw rows.

    Each holder's window rows grouped, its newest minute naming it; a group's held time the sum
    over minutes of its longest-holding member's seconds (for ``session``: its own sum).
    """
    lo, hi = since_ms // 60_000, -(-until_ms // 60_000)
    by_holder: dict[str, list[Bucket]] = {}
    for b in raw:
        if lo <= b.minute < hi:
            by_holder.setdefault(b.holder, []).append(b)
    groups: dict[str, list[Bucket]] = {}
    longest: dict[tuple[str, int], float] = {}
    for holder, parts in by_holder.items():
        newest = max(parts, key=lambda b: b.minute)
        key = {
            "user": newest.user or "unknown",
            "job": newest.submission_id or holder.removeprefix("job:"),
        }.get(group_by, holder)
        groups.setdefault(key, []).extend(parts)
        for b in parts:
            if b.gpu_held_s > 0:
                longest[key, b.minute] = max(longest.get((key, b.minute), 0.0), b.gpu_held_s)
    rows = []
    for key, parts in groups.items():
        newest = max(parts, key=lambda b: b.last_ms)
        sid, covered = newest.submission_id, sum(b.util_covered_gpu_s for b in parts)
        label, kind = newest.label, newest.kind
        if group_by == "user":
            label, kind = key, None
        elif sid and (group_by == "job" or newest.kind == "job"):
            name, kind = job_name(sid), "job"
            label = f"job {name} ({sid})" if name else newest.label
            if not name and newest.kind != "job":
                label = f"job {sid}"
        held_s = sum(b.gpu_held_s for b in parts)
        if group_by != "session":
            held_s = sum(s for (group, _), s in longest.items() if group == key)
        rows.append({
            "key": key, "label": label, "user": newest.user, "kind": kind,
            "gpu_seconds": sum(b.gpu_s for b in parts),
            "cpu_seconds": sum(b.cpu_s for b in parts),
            "memory_byte_seconds": sum(b.mem_byte_s for b in parts),
            "held_seconds": held_s,
            "max_gpus": max(b.max_gpus for b in parts),
            "gpu_utilization_percent": sum(b.util_gpu_s for b in parts) / covered
            if covered else None,
            "first_seen_ms": min(b.first_ms for b in parts),
            "last_seen_ms": max(b.last_ms for b in parts),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (-r["gpu_seconds"], -r["cpu_seconds"], r["key"]))


def test_reports_equal_the_reference_on_a_random_store(tmp_path):
    """Thousands of random buckets (holders of every kind, overlapping GPU holds, users that come
    and go): every field of every row, for several windows and every grouping, equals
    :func:`reference_rows`. Quarters only, so that no sum depends on the order it is added in."""
    rng = random.Random(1234)
    holders = [
        (f"{kind}{i}", kind, f"raysubmit_{i}" if kind == "job" and i % 3 else None)
        for i, kind in enumerate(["notebook", "job", "actor", "script"] * 15)
    ]
    holders.append(("job:raysubmit_1", "job", "raysubmit_1"))  # the entrypoint of job 1's driver
    raw, used = [], set()
    base = minute_of(T0)
    while len(raw) < 3_000:
        holder, kind, sid = rng.choice(holders)
        minute = base + rng.randrange(-200, 200)
        if (minute, holder) in used:
            continue
        used.add((minute, holder))
        gpus = rng.choice([0, 0, 1, 2, 4])
        held_s = rng.randrange(1, 241) / 4 if gpus else 0.0
        first = minute * 60_000 + rng.randrange(30_000)
        label = f"{holder} at {minute % 7}"
        if kind == "job" and sid:  # a job's driver is sampled with its name when it carries one
            label = f"job {sid}" if minute % 2 else f"job run{minute % 5} ({sid})"
        raw.append(
            Bucket(
                minute, holder, kind, label,
                rng.choice(["ann", "bob", "cy", "dee", None]), sid,
                gpus * held_s, rng.randrange(400) / 4, rng.randrange(1 << 20) * 4.0, held_s,
                rng.randrange(100) * held_s, rng.choice([0.0, held_s]), float(gpus),
                first, first + rng.randrange(1, 30_000),
            )
        )  # fmt: skip
    store = store_at(tmp_path)
    store.add(raw, T0)
    names = {"raysubmit_1": "train <b>", "raysubmit_2": "eval"}
    windows = [(T0 - 3_600_000, T0 + 3_600_000), (T0 - 1_234_567, T0 + 89_012), (T0, T0 + 1)]
    for since_ms, until_ms in windows:
        for group_by in ("session", "user", "job"):
            got = build_report(store, str(since_ms), str(until_ms), group_by, 10.0, T0, names.get)
            expected = reference_rows(raw, since_ms, until_ms, group_by, names.get)
            assert [r.model_dump(include=set(expected[0])) for r in got.rows] == expected
    # Without a name lookup (a local reader), a job's row keeps the label it was sampled with.
    since_ms, until_ms = windows[0]
    for group_by in ("session", "job"):
        got = build_report(store, str(since_ms), str(until_ms), group_by, 10.0, T0).rows
        expected = reference_rows(raw, since_ms, until_ms, group_by, lambda _sid: None)
        assert [r.model_dump(include=set(expected[0])) for r in got] == expected
        assert any(r["label"].startswith("job run") for r in expected)


def test_job_rows_are_named_by_the_job_service_looked_up_once(tmp_path):
    from iog_jupyter.core.jobs.local_backend import LocalProcessBackend
    from iog_jupyter.core.jobs.service import JobService

    jobs = JobService(LocalProcessBackend(str(tmp_path / "jobs"), stop_grace_s=1))
    named = jobs.submit({"entrypoint": "true", "metadata": {"name": "train <b>"}})
    plain = jobs.submit({"entrypoint": "true"})
    asked = []

    class Counting:  # the real service, counting its lookups
        def get(self, submission_id):
            asked.append(submission_id)
            return jobs.get(submission_id)

    service = None
    acc = UsageAccountant(store_at(tmp_path), sample_interval_s=10.0, jobs=lambda: service)
    sids = [named, plain, "raysubmit_gone"]
    entrypoints = [Holding(f"job:{s}", "job", f"job {s}", None, s, {"GPU": 1}) for s in sids]
    acc.record(T0, entrypoints)
    acc.record(T0 + 10_000, [])

    def labels(group_by):
        rows = acc.report(str(T0 - 60_000), str(T0 + 600_000), group_by).rows
        return {r.key.removeprefix("job:"): r.label for r in rows}

    # No job service chosen yet, or a local reader (no lookup): the ids, as before.
    as_before = {s: f"job {s}" for s in sids}
    assert labels("job") == as_before
    assert {r.key: r.label for r in report(acc.store, "job").rows} == as_before
    service = Counting()
    named_label = f"job train <b> ({named})"
    assert labels("job") == labels("session") == {**as_before, named: named_label}
    assert sorted(asked) == sorted(sids)  # once per job, the unknown one included
    jobs.close()


def test_holdings_attribute_entrypoints_detached_actors_and_node_utilisation():
    from ray.core.generated import common_pb2, gcs_pb2

    node_a, node_b = b"\x0a" * 28, b"\x0b" * 28
    job, internal = b"\x01\x00\x00\x00", b"\x02\x00\x00\x00"
    sessions = [
        SessionRecord(
            session_id=job.hex(),
            kind="job",
            driver_pid=1,
            driver_ip="x",
            namespace="n",
            owner="ann",
            submission_id="train-1",
        ),
        SessionRecord(
            session_id=internal.hex(),
            kind="script",
            driver_pid=2,
            driver_ip="x",
            namespace="_ray_internal_dashboard",
        ),
    ]
    alive = gcs_pb2.ActorTableData.ActorState.Value("ALIVE")

    def actor(job_id, name, gpus, node, detached=False, namespace="n"):
        return gcs_pb2.ActorTableData(
            actor_id=os.urandom(16),
            job_id=job_id,
            name=name,
            state=alive,
            node_id=node,
            is_detached=detached,
            ray_namespace=namespace,
            required_resources={"GPU": gpus},
        )

    actors = [
        actor(internal, "_ray_internal_job_actor_train-1", 1, node_a, True, "SUPERVISOR"),
        actor(internal, "_ray_internal_job_actor_orphan-2", 2, node_b, True, "SUPERVISOR"),
        actor(job, "keep<b>", 1, node_b, detached=True),
    ]
    tasks = [common_pb2.TaskInfoEntry(job_id=job, node_id=node_b, required_resources={"GPU": 1})]
    usage = {
        node_a.hex(): NodeUsage(gpus=[GpuUsage(index=0, name="a", utilization_percent=90)]),
        node_b.hex(): NodeUsage(
            gpus=[
                GpuUsage(index=0, name="b", utilization_percent=10),
                GpuUsage(index=1, name="b", utilization_percent=30),
            ]
        ),
    }
    found = {h.key: h for h in holdings(sessions, actors, tasks, usage)}
    assert set(found) == {job.hex(), "job:orphan-2", next(k for k in found if "actor:" in k)}
    mine = found[job.hex()]
    assert mine.resources["GPU"] == 2 and mine.gpus_by_node == {node_a.hex(): 1, node_b.hex(): 1}
    assert mine.gpu_utilization_percent == pytest.approx((90 + 20) / 2)
    orphan = found["job:orphan-2"]
    assert (orphan.kind, orphan.submission_id, orphan.resources["GPU"]) == ("job", "orphan-2", 2)
    keeper = next(h for h in found.values() if h.kind == "actor")
    assert (keeper.label, keeper.user) == ("actor n/keep<b>", "ann")


def test_the_store_survives_a_restart_and_prunes_by_age_and_rows(tmp_path):
    acc = UsageAccountant(store_at(tmp_path), sample_interval_s=10.0)
    acc.record(T0, [held("a", 1)])
    acc.record(T0 + 10_000, [])
    acc.flush()
    acc.store.close()
    assert oct(os.stat(tmp_path / "usage.sqlite").st_mode & 0o777) == "0o600"
    again = UsageAccountant(store_at(tmp_path), sample_interval_s=10.0)
    assert [(r.key, r.gpu_seconds) for r in again.report(str(T0), str(T0 + 60_000)).rows] == [
        ("a", pytest.approx(10))
    ]
    # Retention: a write 2 days later with 1 day kept drops the old minute.
    store = store_at(tmp_path, retention_days=1.0)
    later = T0 + 2 * 86_400_000
    store.add([Bucket(minute_of(later), "b", "job", "b", None, None, gpu_s=5)], later)
    assert store.oldest_ms() == minute_of(later) * 60_000
    assert [r.holder for r in store.per_holder(T0, later + 60_000)] == ["b"]
    store.close()
    # The row cap keeps the newest minutes.
    capped = UsageStore(str(tmp_path / "capped.sqlite"), max_rows=3)
    capped.add([Bucket(minute_of(T0) + i, "c", "job", "c", None, None) for i in range(5)], T0)
    assert capped.oldest_ms() == (minute_of(T0) + 2) * 60_000


@pytest.mark.parametrize(
    ("since", "until", "group_by", "names"),
    [
        ("yesterday", None, "session", "Bad since 'yesterday'"),
        ("1h", "soon", "session", "Bad until 'soon'"),
        ("1h", "2h", "session", "The window is empty"),
        ("1h", None, "team", "Bad group_by 'team'"),
        ("9" * 400 + "d", None, "session", "Bad since '999"),
        ("99999999999999999999999", None, "session", "Bad since '999"),
        ("-5m", None, "session", "Bad since '-5m'"),
    ],
)
def test_bad_parameters_say_what_to_give(tmp_path, since, until, group_by, names):
    with pytest.raises(ValidationError) as caught:
        build_report(store_at(tmp_path), since, until, group_by, 10.0)
    assert names in caught.value.message


def test_window_forms(tmp_path):
    now = T0
    rep = build_report(store_at(tmp_path), "30m", None, "session", 10.0, now_ms=now)
    assert (rep.since_ms, rep.until_ms) == (now - 1_800_000, now)
    rep = build_report(store_at(tmp_path), None, None, "user", 10.0, now_ms=now)
    assert rep.since_ms == now - 86_400_000
    rep = build_report(
        store_at(tmp_path), "2027-01-15T08:00Z", "2027-01-15T10:00+01:00", "job", 10.0, now_ms=now
    )
    assert (rep.since_ms, rep.until_ms) == (T0, T0 + 3_600_000)
    assert rep.since == "2027-01-15T08:00:00.000Z"


# -- the real thing: two sessions on the real head, through a real Jupyter server --------------


@pytest.fixture
def jp_server_config(ray_head, tmp_path, monkeypatch):
    """iog_jupyter sampling the sessions every INTERVAL_S, with its own state dir."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return server_config(
        refresh_interval_s=0.5,
        request_timeout_s=30.0,
        jobs_state_dir=tmp_path / "iog_state",
        usage_sample_interval_s=INTERVAL_S,
    )


async def hold_gpu(head, seconds: float) -> tuple[subprocess.Popen[str], str, float]:
    """Start a driver holding 1 GPU for ``seconds``; (process, job id, when it held it)."""
    proc = subprocess.Popen(
        [sys.executable, str(GPU_HOLDER), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=ray_env(head),
        text=True,
    )
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 120)
    assert line.startswith("HELD "), f"the GPU holder did not start: {line!r}"
    _, when, job_id = line.split()
    return proc, job_id, float(when)


async def freed(proc: subprocess.Popen[str]) -> float:
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
    assert line.startswith("FREED "), line
    return float(line.split()[1])


async def iog_usage(url: str, token: str, *args: str) -> tuple[int, str, str]:
    """``iog usage <args> --url URL`` in a child process (the test loop keeps serving)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "IOG_"))}
    env.update(PYTHONPATH=str(REPO), IOG_TOKEN=token)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iog_jupyter.cli",
        "usage",
        *args,
        "--url",
        url,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    return int(proc.returncode or 0), out.decode(), err.decode()


@pytest.mark.ray
async def test_two_sessions_holding_gpus_are_billed_within_one_interval(
    jp_fetch, jp_serverapp, server_url, ray_head, tmp_path
):
    status, body = await api(jp_fetch, "usage")  # also starts the sessions loop
    assert status == 200 and body["rows"] == [] and body["sample_interval_s"] == INTERVAL_S
    procs = []
    try:
        (a, a_id, a_held), (b, b_id, b_held) = [
            await hold_gpu(ray_head, seconds) for seconds in (4.0, 8.0)
        ]
        procs = [a, b]
        truth = {a_id: await freed(a) - a_held, b_id: await freed(b) - b_held}
        # The last sample that saw a GPU held is credited when the next one comes.
        await asyncio.sleep(2 * INTERVAL_S)
        status, body = await api(jp_fetch, "usage", group_by="session", since="10m")
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
    assert status == 200, body
    rows = {row["key"]: row for row in body["rows"]}
    for job_id, seconds in truth.items():
        row = rows[job_id]
        assert abs(row["gpu_seconds"] - seconds) <= INTERVAL_S + SLACK_S, (row, seconds)
        assert row["max_gpus"] == 1 and row["kind"] == "script"  # connect() outside a kernel
        assert abs(row["held_seconds"] - seconds) <= INTERVAL_S + SLACK_S
        assert row["summary"].startswith("held 1 GPU for ")
    # Most GPU-seconds first; the user's row sums the two.
    assert [r["key"] for r in body["rows"] if r["key"] in truth] == [b_id, a_id]
    status, users = await api(jp_fetch, "usage", group_by="user", since="10m")
    user = rows[a_id]["user"]
    (mine,) = [r for r in users["rows"] if r["key"] == user]
    ours = sum(r["gpu_seconds"] for r in body["rows"] if r["user"] == user)
    assert mine["gpu_seconds"] == pytest.approx(ours)

    # A restarted service on the same state dir (the store is all it keeps) has the figures.
    path = tmp_path / "iog_state" / "usage.sqlite"
    with contextlib.closing(UsageStore(str(path), read_only=True)) as local:  # a local reader
        assert build_report(local, "10m", None, "session", 0.0).sample_interval_s == INTERVAL_S
    restarted = UsageAccountant(UsageStore(str(path)), INTERVAL_S)
    again = {r.key: r.gpu_seconds for r in restarted.report("10m").rows}
    assert again[a_id] == pytest.approx(rows[a_id]["gpu_seconds"])
    assert again[b_id] == pytest.approx(rows[b_id]["gpu_seconds"])

    # Bad parameters: 400 with a sentence naming what to give.
    status, err = await api(jp_fetch, "usage", since="last tuesday")
    assert status == 400 and "Bad since 'last tuesday'" in err["message"]
    assert "24h" in err["message"]
    status, err = await api(jp_fetch, "usage", group_by="team")
    assert status == 400 and "group_by" in err["message"]

    # The CLI, remote: table, JSON, CSV.
    token = jp_serverapp.identity_provider.token
    code, out, err = await iog_usage(server_url, token, "--since", "10m")
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("NAME"))
    assert header.split()[:4] == ["NAME", "KEY", "USER", "GPU-H"]
    assert a_id in out and b_id in out
    code, out, err = await iog_usage(server_url, token, "--since", "10m", "--by", "user", "--json")
    assert code == 0, err
    assert json.loads(out)["group_by"] == "user"
    code, out, err = await iog_usage(server_url, token, "--since", "10m", "--csv")
    assert code == 0, err
    parsed = {r["key"]: r for r in csv.DictReader(io.StringIO(out))}
    assert float(parsed[b_id]["gpu_seconds"]) == pytest.approx(rows[b_id]["gpu_seconds"])
    assert parsed[b_id]["summary"] == rows[b_id]["summary"]
    code, out, err = await iog_usage(server_url, token, "--since", "soon")
    assert code == 2 and "Bad since 'soon'" in err


@pytest.mark.ray
async def test_a_jobs_entrypoint_gpu_counts_for_that_job_under_its_name(jp_fetch):
    from iog_jupyter.widgets.usage import usage_bar_data, usage_table_html

    sid = f"usage-{int(time.time() * 1000)}"
    body = {
        "entrypoint": "sleep 20",
        "submission_id": sid,
        "entrypoint_num_gpus": 1,
        "metadata": {"name": EVIL},
    }
    status, reply = await api(jp_fetch, "jobs", method="POST", body=body)
    assert status == 201, reply
    try:
        row = None
        deadline = time.monotonic() + 60
        while row is None or row["gpu_seconds"] < 2 * INTERVAL_S:
            assert time.monotonic() < deadline, f"no usage for job {sid}: {row}"
            await asyncio.sleep(INTERVAL_S)
            status, report = await api(jp_fetch, "usage", group_by="job", since="10m")
            row = next((r for r in report["rows"] if r["key"] == sid), None)
        # Ray's job supervisor actor holds the entrypoint's GPU; it counts for the job, which
        # the row names (the key stays its id), in the job and in the session grouping.
        label = f"job {EVIL} ({sid})"
        assert (row["kind"], row["label"], row["max_gpus"]) == ("job", label, 1)
        status, by_session = await api(jp_fetch, "usage", since="10m")
        assert {r["label"] for r in by_session["rows"] if r["key"] == f"job:{sid}"} == {label}
        # The name is the user's text: the widget's table and bars escape it.
        for html in [usage_table_html(report), *usage_bar_data(report["rows"])["y"]]:
            assert "<img" not in html
        assert f"job &lt;img src=x onerror=&quot;alert(1)&quot;&gt; ({sid})" in (
            usage_table_html(report)
        )
    finally:
        status, reply = await api(jp_fetch, "jobs", sid, "stop", method="POST")
        assert status == 200, reply


def test_local_mode_reads_the_store_or_says_how_to_reach_the_server(tmp_path, capsys):
    from iog_jupyter.cli.main import main

    assert main(["usage", "--state-dir", str(tmp_path)]) == 1
    assert "records usage while it runs" in capsys.readouterr().err
    acc = UsageAccountant(store_at(tmp_path), sample_interval_s=7.0)
    now = int(time.time() * 1000)
    acc.record(now - 20_000, [held("a", 1)])
    acc.record(now - 13_000, [])
    acc.flush()
    assert main(["usage", "--state-dir", str(tmp_path), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["gpu_seconds"]) for r in got["rows"]] == [("a", pytest.approx(7))]
    # The interval the accountant samples at, which this reader was not told.
    assert got["sample_interval_s"] == 7.0 and "every 7 s" in got["note"]
    # A reader opens the file as it is: a missing one is an error, and it writes nothing.
    missing = tmp_path / "none" / "usage.sqlite"
    with pytest.raises(sqlite3.Error):
        UsageStore(str(missing), read_only=True)
    assert not missing.parent.exists()
    with contextlib.closing(UsageStore(str(tmp_path / "usage.sqlite"), read_only=True)) as store:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.set_sample_interval(1.0)
    older = tmp_path / "older.sqlite"  # a store from before the interval was recorded
    with contextlib.closing(sqlite3.connect(older)) as db:
        db.execute(_SCHEMA)
    with contextlib.closing(UsageStore(str(older), read_only=True)) as store:
        assert build_report(store, "1h", None, "user", 0.0).sample_interval_s == 0.0
    odd = tmp_path / "a?b#c%d" / "usage.sqlite"  # URI characters in the state dir's path
    with contextlib.closing(UsageStore(str(odd))) as store:
        store.set_sample_interval(3.0)
    with contextlib.closing(UsageStore(str(odd), read_only=True)) as store:
        assert build_report(store, "1h", None, "user", 0.0).sample_interval_s == 3.0


# -- the widget -------------------------------------------------------------------------------

EVIL = '<img src=x onerror="alert(1)">'


def test_widget_draws_one_bar_per_row_and_escapes_a_hostile_label(tmp_path):
    from iog_jupyter.widgets import UsageWidget
    from iog_jupyter.widgets.usage import store_source

    acc = UsageAccountant(store_at(tmp_path), sample_interval_s=10.0)
    now = int(time.time() * 1000)
    evil = Holding("e", "notebook", f"{EVIL}.ipynb", EVIL, resources={"GPU": 2})
    acc.record(now - 30_000, [evil, held("a", 1, util=40)])
    acc.record(now - 20_000, [held("a", 1, util=40)])
    acc.record(now - 10_000, [])
    acc.flush()
    asked = []

    def source(since, until, group_by):
        asked.append((since, group_by))
        return store_source(str(tmp_path))(since, until, group_by)

    widget = UsageWidget(source=source, since="1h")
    try:
        (bar,) = widget.figure.data
        assert len(bar.x) == 2 and list(bar.x) == pytest.approx([20 / 3600, 20 / 3600])
        assert all("<img" not in label for label in bar.y)
        assert any("&lt;img src=x" in label for label in bar.y)
        assert "<img" not in widget.table.value and "&lt;img src=x" in widget.table.value
        assert "held 1 GPU for 20 s, used 40 %" in widget.table.value
        assert "<img" not in widget._repr_html_()
        widget.group.value = "user"  # a picker reloads
        assert asked[-1] == ("1h", "user")
        assert sorted(r["key"] for r in widget.report["rows"]) == sorted(["ann", EVIL])
        assert len(widget.figure.data[0].y) == 2
        state = widget.table.get_state()
        assert "&lt;img src=x" in state["value"]
    finally:
        widget.close()


def test_widget_says_why_when_no_usage_is_recorded(tmp_path):
    from iog_jupyter.widgets import UsageWidget
    from iog_jupyter.widgets.usage import store_source

    widget = UsageWidget(source=store_source(str(tmp_path / "nowhere")))
    try:
        assert widget.report is None and "No usage recorded" in widget.error
        assert "No usage recorded" in widget._repr_html_()
    finally:
        widget.close()


@pytest.mark.ray
async def test_the_sessions_loop_adds_no_read_while_another_reader_polls(ray_head, tmp_path):
    from iog_jupyter.core.calls import Lanes
    from iog_jupyter.core.connection import RayConnection
    from iog_jupyter.core.sessions.service import SessionService
    from iog_jupyter.core.wire import IdlePolicy

    async def no_kernels():
        return []

    conn = RayConnection()
    accountant = UsageAccountant(store_at(tmp_path), sample_interval_s=1.0)
    service = SessionService(conn, no_kernels, IdlePolicy(), Lanes(2, 30.0), usage=accountant)
    reads: list[float] = []
    read = service._read

    def counted(kernels):
        reads.append(time.monotonic())
        return read(kernels)

    service._read = counted  # count the GCS reads, whoever asks for them
    try:
        service.start()
        await asyncio.sleep(3.2)  # nobody else reads: the loop samples once a second
        alone = len(reads)
        reads.clear()
        asked, end = 0, time.monotonic() + 3.0
        while time.monotonic() < end:  # a reader polling as the change feed does for the Lab
            await service.list()
            asked += 1
            await asyncio.sleep(0.25)
        polled = len(reads)
    finally:
        await service.stop()
        conn.close()
    assert 3 <= alone <= 5
    # Every read was the reader's (one more at most, where its first read met the loop's turn).
    assert asked <= polled <= asked + 1, (asked, polled)


def test_csv_cells_that_a_spreadsheet_would_run_are_made_inert():
    from iog_jupyter.cli.usage import format_usage_csv

    hostile = '=HYPERLINK("http://x.invalid","open")'
    rows = [{"key": "@sum", "label": hostile, "user": "-2+3", "gpu_seconds": 7.5, "summary": "ok"}]
    (row,) = csv.DictReader(io.StringIO(format_usage_csv(rows)))
    assert row["label"] == "'" + hostile and row["key"] == "'@sum" and row["user"] == "'-2+3"
    assert row["gpu_seconds"] == "7.5" and row["summary"] == "ok"  # numbers and plain text kept
