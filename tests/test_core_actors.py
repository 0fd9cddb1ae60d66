"""The detached-actor registry on the real Ray head: list, kill, touch, reap, and its Ray calls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from iog_jupyter.core import _ray_compat
from iog_jupyter.core.actors import gcs as actor_registry
from iog_jupyter.core.actors.records import (
    IOG_KV_NAMESPACE,
    ActorMeta,
    check_list_args,
    check_ttl,
    meta_key,
    parse_states,
    protection_reason,
)
from iog_jupyter.core.actors.registry import ActorRegistry
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.cursors import encode_position
from iog_jupyter.core.errors import (
    ForbiddenError,
    NotFoundError,
    RayUnavailableError,
    ValidationError,
)
from tests.fixtures import REPO, ray_env

DRIVER = REPO / "tests" / "drivers" / "detached_actors.py"


def run_driver(ray_head: Any, ops: list[list[Any]]) -> list[dict[str, Any]]:
    """Run one driver process that makes actors and exits; its results."""
    proc = subprocess.run(
        [sys.executable, str(DRIVER), json.dumps(ops)],
        env=ray_env(ray_head),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wait_until(predicate: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


# -- pure checks (no Ray) ---------------------------------------------------------------------


def test_protection_rules():
    assert protection_reason("team", "cache") is None
    assert "internal" in protection_reason("team", "_ray_internal_x")
    assert "internal" in protection_reason("_ray_internal_dashboard", "x")
    assert "belongs to Ray" in protection_reason("SUPERVISOR_ACTOR_RAY_NAMESPACE", "x")
    assert "belongs to Ray" in protection_reason("iog_jupyter", "x")
    assert protection_reason("serve", "x") is None
    assert "protected" in protection_reason("serve", "x", ("serve",))


def test_meta_round_trip_cursor_and_ttl_checks():
    meta = ActorMeta(
        namespace="ns/1", name="a b", actor_id="ab12", owner="<o>", created_ms=1000, ttl_s=2.0
    )
    assert ActorMeta.from_bytes(meta.to_bytes()) == meta
    assert ActorMeta.from_bytes(b"not json") is None and ActorMeta.from_bytes(None) is None
    assert meta_key("ns/1", "a b") == b"actor:ns%2F1/a%20b"
    touched = meta.touched(5000)
    assert touched.expires_ms == 7000 and touched.ttl_s == 2.0
    assert meta.touched(5000, 10).expires_ms == 15000
    assert check_list_args(None, 10, cursor=encode_position("a", "b/c")) == (10, ("a", "b/c"))
    for bad in ("x", "!!", encode_position("a", "b")[:-3], encode_position("a", 1)):
        with pytest.raises(ValidationError, match="cursor") as refused:
            check_list_args(None, 10, cursor=bad)
        assert refused.value.reason == "bad_cursor"
    assert check_ttl(None) is None and check_ttl(5) == 5.0
    for bad_ttl in (0, -1, float("inf"), float("nan"), "10", True):
        with pytest.raises(ValidationError, match="ttl_s"):
            check_ttl(bad_ttl)


def test_a_state_filter_is_parsed_the_same_for_every_surface():
    assert parse_states(" alive,DEAD ,, Alive") == frozenset({"ALIVE", "DEAD"})
    assert parse_states(None) is None and parse_states("") is None and parse_states(" , ") is None
    with pytest.raises(ValidationError, match="Unknown actor state 'NAPPING'") as refused:
        check_list_args(parse_states("alive,napping"), 10)
    assert refused.value.reason == "bad_state"


def test_bad_input_is_refused_before_ray_is_asked():
    # Nothing listens on port 1: any Ray call would answer RayUnavailableError, not these.
    registry = ActorRegistry(RayConnection(address="127.0.0.1:1"), ["serve"])
    with pytest.raises(ValidationError, match="Unknown actor state"):
        registry.list(states=frozenset({"SLEEPING"}))
    for limit in (0, 501, True):
        with pytest.raises(ValidationError, match="limit"):
            registry.list(limit=limit)
    with pytest.raises(ValidationError, match="cursor"):
        registry.list(cursor="garbage!")
    with pytest.raises(ValidationError, match="namespace"):
        registry.list(namespace="")
    with pytest.raises(ForbiddenError, match="protected"):
        registry.kill("serve", "x")
    with pytest.raises(ForbiddenError, match="internal"):
        registry.kill("team", "_ray_internal_job")
    with pytest.raises(ValidationError, match="printable"):
        registry.kill("team", "a\nb")
    with pytest.raises(RayUnavailableError, match="127.0.0.1:1"):
        registry.list()


# -- on the real head -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def actors_ns(ray_head) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A fresh namespace holding: managed ``m1``/``m2`` (TTL 3600 s), plain ``plain``, a pending
    ``waiting``, an internal ``_ray_internal_x``; plus plain actors in ``serve`` and the job
    supervisors' namespace."""
    ns = f"iogt-{uuid.uuid4().hex[:8]}"
    made = run_driver(
        ray_head,
        [
            ["iog", "m1", ns, {"ttl_s": 3600}],
            ["iog", "m2", ns, {"ttl_s": 3600}],
            ["plain", "plain", ns, {}],
            ["plain", "waiting", ns, {"resources": {"nope": 1}, "wait": False}],
            ["plain", "_ray_internal_x", ns, {}],
            ["plain", f"svc-{ns}", "serve", {}],
            ["plain", f"sup-{ns}", "SUPERVISOR_ACTOR_RAY_NAMESPACE", {}],
        ],
    )
    yield ns, made
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    for namespace, name in _ray_compat.list_named_actors(ray_head.address, 10):
        if namespace == ns or name.endswith(ns):
            data = _ray_compat.named_actor(ray_head.address, name, namespace, 10)
            if data is not None:
                _ray_compat.kill_actor(ray_head.address, data.actor_id, 10)


@pytest.fixture
def registry(ray_head) -> Iterator[ActorRegistry]:
    conn = RayConnection()
    try:
        yield ActorRegistry(conn, ["serve"])
    finally:
        conn.close()


@pytest.mark.ray
def test_kv_put_if_absent_first_writer_wins(ray_head):
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    key, ns = f"first:{uuid.uuid4().hex}".encode(), b"iog_jupyter_test"
    assert _ray_compat.kv_put(ray_head.address, key, b"one", ns, 5, overwrite=False) is True
    assert _ray_compat.kv_put(ray_head.address, key, b"two", ns, 5, overwrite=False) is False
    assert _ray_compat.kv_get(ray_head.address, key, ns, 5) == b"one"
    assert _ray_compat.kv_del(ray_head.address, key, ns, 5) == 1


@pytest.mark.ray
def test_named_actors_info_answers_many_at_once(ray_head, actors_ns):
    ns, made = actors_ns
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    keys = [(ns, "m1"), (ns, "waiting"), (ns, "never-made")]
    infos = _ray_compat.named_actors_info(ray_head.address, keys, 10)
    assert infos[(ns, "m1")].actor_id.hex() == made[0]["actor_id"]
    assert _ray_compat.actor_state_name(infos[(ns, "waiting")]) != "ALIVE"
    assert infos[(ns, "never-made")] is None
    assert issubclass(RuntimeError, _ray_compat.gcs_errors())


@pytest.mark.ray
def test_list_joins_ray_and_iog_records(registry, actors_ns):
    ns, made = actors_ns
    page = registry.list(namespace=ns)
    by_name = {a.name: a for a in page.actors}
    assert set(by_name) == {"m1", "m2", "plain", "waiting", "_ray_internal_x"}
    assert page.total == 5 and page.next_cursor is None
    m1 = by_name["m1"]
    assert m1.managed and m1.detached and m1.state == "ALIVE" and m1.class_name == "Counter"
    assert m1.actor_id == made[0]["actor_id"] and m1.ttl_s == 3600.0
    assert m1.owner and m1.expires_ms - m1.created_ms == 3600 * 1000
    wire = m1.model_dump(mode="json")
    assert wire["created"].endswith("Z") and wire["expires"].endswith("Z")
    assert not by_name["plain"].managed and by_name["plain"].ttl_s is None
    assert by_name["_ray_internal_x"].protected and not by_name["m1"].protected
    assert by_name["waiting"].state in ("PENDING_CREATION", "DEPENDENCIES_UNREADY")
    alive = registry.list(namespace=ns, states=frozenset({"ALIVE"}))
    assert {a.name for a in alive.actors} == {"m1", "m2", "plain", "_ray_internal_x"}
    assert registry.list(namespace=ns, detached=False).actors == []


@pytest.mark.ray
def test_protected_actors_are_hidden_unless_their_namespace_is_asked(registry, actors_ns):
    ns, _ = actors_ns
    everything = []
    cursor = None
    while True:
        page = registry.list(limit=2, cursor=cursor)
        assert len(page.actors) <= 2
        everything += page.actors
        cursor = page.next_cursor
        if cursor is None:
            break
    keys = [(a.namespace, a.name) for a in everything]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) == page.total
    assert (ns, "m1") in keys and (ns, "_ray_internal_x") not in keys
    assert not any(k[0] in ("serve", "SUPERVISOR_ACTOR_RAY_NAMESPACE") for k in keys)
    served = registry.list(namespace="serve").actors  # other tests may hold serve actors too
    assert f"svc-{ns}" in {a.name for a in served} and {a.namespace for a in served} == {"serve"}
    supervisors = registry.list(namespace="SUPERVISOR_ACTOR_RAY_NAMESPACE").actors
    assert f"sup-{ns}" in {a.name for a in supervisors}


@pytest.mark.ray
def test_refused_kills_change_nothing(registry, actors_ns, ray_head):
    ns, _ = actors_ns
    for namespace, name in (
        (ns, "_ray_internal_x"),
        ("serve", f"svc-{ns}"),
        ("SUPERVISOR_ACTOR_RAY_NAMESPACE", f"sup-{ns}"),
        ("iog_jupyter", "anything"),
    ):
        with pytest.raises(ForbiddenError):
            registry.kill(namespace, name)
    with pytest.raises(NotFoundError, match="No live actor"):
        registry.kill(ns, "never-made")
    alive = {(a.namespace, a.name) for a in registry.list(namespace="serve").actors}
    assert ("serve", f"svc-{ns}") in alive
    assert {"m1", "_ray_internal_x"} <= {a.name for a in registry.list(namespace=ns).actors}


@pytest.mark.ray
def test_kill_removes_the_actor_and_its_record(registry, actors_ns, ray_head):
    ns, _ = actors_ns
    record = registry.kill(ns, "m2")
    assert record.name == "m2" and record.managed
    wait_until(lambda: "m2" not in {a.name for a in registry.list(namespace=ns).actors})
    assert _ray_compat.kv_get(ray_head.address, meta_key(ns, "m2"), IOG_KV_NAMESPACE, 5) is None
    with pytest.raises(NotFoundError):
        registry.kill(ns, "m2")


@pytest.mark.ray
def test_touch_extends_and_adopts(ray_head, actors_ns):
    ns, _ = actors_ns
    gcs = ray_head.address
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    before = actor_registry.read_meta(gcs, ns, "m1", 5)
    time.sleep(0.05)
    after = actor_registry.touch_actor(gcs, ns, "m1", 5)
    assert after.expires_ms > before.expires_ms and after.ttl_s == 3600.0
    assert after.created_ms == before.created_ms and after.owner == before.owner
    with pytest.raises(ValidationError, match="no TTL recorded"):
        actor_registry.touch_actor(gcs, ns, "plain", 5)
    with pytest.raises(NotFoundError):
        actor_registry.touch_actor(gcs, ns, "never-made", 5, ttl_s=10)
    with pytest.raises(ForbiddenError):
        actor_registry.touch_actor(gcs, "iog_jupyter", "x", 5, ttl_s=10)
    adopted = actor_registry.touch_actor(
        gcs,
        ns,
        "plain",
        5,
        ttl_s=60,
        template=ActorMeta(namespace="", name="", actor_id="", owner="zoe"),
    )
    assert adopted.owner == "zoe" and adopted.class_name == "Counter" and adopted.ttl_s == 60
    assert actor_registry.read_meta(gcs, ns, "plain", 5) == adopted


@pytest.mark.ray
def test_reap_kills_expired_keeps_fresh_and_drops_stale_records(registry, ray_head):
    ns = f"iogr-{uuid.uuid4().hex[:8]}"
    made = run_driver(
        ray_head,
        [["iog", "short", ns, {"ttl_s": 1}], ["iog", "long", ns, {"ttl_s": 3600}]],
    )
    gcs = ray_head.address
    # A record whose actor never existed (a leak): the reaper drops it, kills nothing.
    ghost = ActorMeta(
        namespace=ns, name="ghost", actor_id="00" * 16, owner="x", created_ms=1, ttl_s=None
    )
    _ray_compat.kv_put(gcs, meta_key(ns, "ghost"), ghost.to_bytes(), IOG_KV_NAMESPACE, 5)
    time.sleep(1.2)
    reaped = [r for r in registry.reap() if r.namespace == ns]
    assert {(r.name, r.reason) for r in reaped} == {("short", "expired"), ("ghost", "gone")}
    short = next(r for r in reaped if r.name == "short")
    assert short.actor_id == made[0]["actor_id"] and short.ttl_s == 1.0
    wait_until(lambda: {a.name for a in registry.list(namespace=ns).actors} == {"long"})
    assert actor_registry.read_meta(gcs, ns, "short", 5) is None
    assert actor_registry.read_meta(gcs, ns, "ghost", 5) is None
    assert actor_registry.read_meta(gcs, ns, "long", 5) is not None
    # Judged an hour later, "long" expires too.
    later = registry.reap(now=actor_registry.now_ms() + 3601 * 1000)
    assert [(r.name, r.reason) for r in later if r.namespace == ns] == [("long", "expired")]
    wait_until(lambda: registry.list(namespace=ns).actors == [])


# -- listing costs what the page costs --------------------------------------------------------


def test_actors_fingerprint_without_a_total():
    from iog_jupyter.core.changes import actors_fingerprint
    from iog_jupyter.core.wire import ActorPage, ActorRecord

    one = ActorRecord(namespace="n", name="a", actor_id="ab", state="ALIVE", detached=True)
    last = ActorPage(actors=[one], next_cursor=None, total=None)
    more = ActorPage(actors=[one], next_cursor=encode_position("n", "a"), total=None)
    assert hash(actors_fingerprint(last)) is not None
    assert actors_fingerprint(last) != actors_fingerprint(more)
    counted = ActorPage(actors=[one], next_cursor=None, total=1)
    assert actors_fingerprint(counted) != actors_fingerprint(last)


PENDING = 120
ALIVE = 3


@pytest.fixture(scope="module")
def crowd(ray_head) -> Iterator[str]:
    """A fresh namespace of many named detached actors, names spread at random: ``PENDING``
    that can never be placed (every fifth with an iog record), ``ALIVE`` alive ones (iog
    records), and one killed (dead: its name is free, it stays in Ray's table)."""
    ns = f"iogc-{uuid.uuid4().hex[:8]}"
    ops: list[list[Any]] = []
    for i in range(PENDING + ALIVE + 1):
        name = f"c-{uuid.uuid4().hex[:10]}"
        if i < ALIVE:
            ops.append(["iog", name, ns, {"ttl_s": 3600}])
        elif i % 5 == 0:
            ops.append(["iog", name, ns, {"ttl_s": 3600, "resources": {"nope": 1}, "wait": False}])
        else:
            ops.append(["plain", name, ns, {"resources": {"nope": 1}, "wait": False}])
    made = run_driver(ray_head, ops)
    _ray_compat.use_token_auth("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    _ray_compat.kill_actor(ray_head.address, bytes.fromhex(made[-1]["actor_id"]), 10)
    wait_until(lambda: len(_ray_compat.list_named_actors(ray_head.address, 10, ns)) == len(ops) - 1)
    yield ns
    for namespace, name in _ray_compat.list_named_actors(ray_head.address, 10, ns):
        data = _ray_compat.named_actor(ray_head.address, name, namespace, 10)
        if data is not None:
            _ray_compat.kill_actor(ray_head.address, data.actor_id, 10)


def walk(registry: ActorRegistry, limit: int, **filters: Any) -> list[Any]:
    """Every page of one listing; asserts each page's shape on the way."""
    records, cursor, pages = [], None, 0
    while True:
        page = registry.list(limit=limit, cursor=cursor, **filters)
        assert len(page.actors) <= limit
        assert page.next_cursor is None or len(page.actors) == limit
        records += page.actors
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return records


@pytest.mark.ray
def test_filtered_pages_are_exact_and_complete_across_cursors(registry, crowd, ray_head):
    ns = crowd
    keys = _ray_compat.list_named_actors(ray_head.address, 10, ns)
    infos = _ray_compat.named_actors_info(ray_head.address, keys, 10)
    truth = {k: (bool(d.is_detached), _ray_compat.actor_state_name(d)) for k, d in infos.items()}
    assert sum(1 for _, s in truth.values() if s == "ALIVE") == ALIVE
    assert sum(1 for _, s in truth.values() if s == "PENDING_CREATION") == PENDING

    everything = registry.list(namespace=ns, limit=500)
    assert everything.total == len(truth) == PENDING + ALIVE  # unfiltered: exact, dead left out
    for filters in (
        {"detached": True},
        {"detached": False},
        {"states": frozenset({"ALIVE"})},
        {"states": frozenset({"PENDING_CREATION"})},
        {"states": frozenset({"ALIVE", "RESTARTING"}), "detached": True},
        {"states": frozenset({"DEAD"})},
        {},
    ):
        want = sorted(
            k
            for k, (det, state) in truth.items()
            if ("detached" not in filters or det == filters["detached"])
            and ("states" not in filters or state in filters["states"])
        )
        for limit in (1, 7, 500):
            got = walk(registry, limit, namespace=ns, **filters)
            assert [(a.namespace, a.name) for a in got] == want, (filters, limit)
        page = registry.list(namespace=ns, limit=7, **filters)
        assert page.total == (None if filters else len(want))
    managed = [a for a in walk(registry, 9, namespace=ns, detached=True) if a.managed]
    assert len(managed) == ALIVE + sum(1 for i in range(ALIVE, PENDING + ALIVE) if i % 5 == 0)
    assert all(a.ttl_s == 3600.0 and a.owner for a in managed)


@pytest.mark.ray
def test_the_walk_also_serves_a_state_too_common_for_the_gcs_filter(registry, crowd, monkeypatch):
    ns = crowd
    by_gcs = walk(registry, 7, namespace=ns, states=frozenset({"PENDING_CREATION"}))
    monkeypatch.setattr(actor_registry, "STATE_SCAN_MIN", 5)
    monkeypatch.setattr(actor_registry, "STATE_SCAN_PER_ROW", 0)
    by_walk = walk(registry, 7, namespace=ns, states=frozenset({"PENDING_CREATION"}))
    assert [a.actor_id for a in by_walk] == [a.actor_id for a in by_gcs]
    assert len(by_walk) == PENDING


class Counting:
    """Wraps one real ``_ray_compat`` function; counts calls and the keys they carried."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.real = getattr(_ray_compat, name)
        self.calls = self.keys = 0
        monkeypatch.setattr(_ray_compat, name, self)

    def __call__(self, gcs: str, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if args and isinstance(args[0], list):
            self.keys += len(args[0])
        return self.real(gcs, *args, **kwargs)


@pytest.mark.ray
def test_a_page_looks_up_about_one_page_of_actors(registry, crowd, monkeypatch):
    ns = crowd
    lookups = Counting(monkeypatch, "named_actors_info")
    records = Counting(monkeypatch, "kv_multi_get")
    scans = Counting(monkeypatch, "kv_scan")
    by_state = Counting(monkeypatch, "list_actors")
    names = Counting(monkeypatch, "list_named_actors")

    def cost(limit: int, **filters: Any) -> tuple[int, int, int]:
        lookups.calls = lookups.keys = records.calls = records.keys = by_state.calls = 0
        names.calls = 0
        page = registry.list(limit=limit, **filters)
        assert len(page.actors) == limit and page.next_cursor
        return lookups.keys, records.keys, by_state.calls

    # Every actor here is detached: one batch of limit + 1 names, records of the page only.
    assert cost(5, namespace=ns, detached=True) == (6, 5, 0)
    everywhere = cost(5, detached=True)  # every namespace (other tests' actors too)
    assert everywhere[0] <= 6 + 12 and everywhere[1:] == (5, 0)
    first = registry.list(namespace=ns, detached=True, limit=5)
    lookups.keys = 0
    registry.list(namespace=ns, detached=True, limit=5, cursor=first.next_cursor)
    assert lookups.keys == 6  # a later page does not read the earlier ones again
    assert cost(5, namespace=ns) == (6, 5, 0)  # unfiltered: the page, and the total from names
    # A state filter asks the GCS for that state (capped): no name list, no look-ups by name.
    assert cost(2, namespace=ns, states=frozenset({"ALIVE"})) == (0, 2, 1)
    assert cost(5, namespace=ns, states=frozenset({"PENDING_CREATION"})) == (0, 5, 1)
    assert names.calls == 0
    # Past the cap it walks: batches of 6, 12, ... until the page is full, never all 120.
    monkeypatch.setattr(actor_registry, "STATE_SCAN_MIN", 5)
    monkeypatch.setattr(actor_registry, "STATE_SCAN_PER_ROW", 0)
    walked, read, _ = cost(5, namespace=ns, states=frozenset({"PENDING_CREATION"}))
    assert 6 <= walked <= 6 + 12 and read == 5
    assert scans.calls == 0  # iog's records are never scanned whole to list
