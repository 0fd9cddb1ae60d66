"""Usage reports at scale: ``GET usage``'s store query against the one-query join it replaced.

A recorded-shape store (no Ray needed: synthetic per-minute buckets, named as such) of ``H``
holders x ``M`` minutes is filled in a temp dir; each size is then reported over the last 24 h and
7 days, grouped by session, by user and by job, ``--repeats`` times. Two ways of reading the
per-holder totals are timed in the same run on the same file:

- ``ours``: :func:`iog_jupyter.core.usage.build_report` (SQLite sums each holder's rows in one
  pass, and for ``user`` and ``job`` takes the per-minute union of held time in one more);
- ``join``: the first version's single query (each holder's newest minute joined back to the
  window's rows), kept here as the reference.

Usage: ``python benchmarks/usage.py [--repeats 5] [--json out.json]`` (about 4 minutes; the
join is timed three times per window, it takes seconds at 1M rows). Run it with
``PYTHONPATH`` at another checkout to time that checkout's ``build_report`` on the same stores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from iog_jupyter.core.usage import build_report
from iog_jupyter.core.usage.store import _SUMMED, Bucket, UsageStore, minute_of

NOW_MS = 1_800_000_000_000
#: (holders, minutes): 100 holders over a day; over a week (1M rows, the default row cap).
SIZES = ((100, 1_440), (100, 10_080))
WINDOWS = {"24h": 86_400_000, "7d": 7 * 86_400_000}

_JOIN = (
    "SELECT w.m, b.holder, n.kind, n.label, n.user, n.submission_id, "
    + ", ".join(f"sum(b.{c})" for c in _SUMMED)
    + ", max(b.max_gpus), min(b.first_ms), max(b.last_ms) "
    "FROM usage_buckets b JOIN (SELECT holder, max(minute) AS m FROM usage_buckets "
    "WHERE minute >= ? AND minute * 60000 < ? GROUP BY holder) w ON b.holder = w.holder "
    "JOIN usage_buckets n ON n.holder = w.holder AND n.minute = w.m "
    "WHERE b.minute >= ? AND b.minute * 60000 < ? GROUP BY b.holder"
)


def fill(path: str, holders: int, minutes: int) -> UsageStore:
    """A store of ``holders`` x ``minutes`` synthetic buckets, the newest minute now."""
    store = UsageStore(path, retention_days=3650, max_rows=10**8)
    last = minute_of(NOW_MS)
    for start in range(last - minutes, last, 1_000):
        rows = [
            Bucket(m, f"h{h:04d}", "notebook", f"nb{h}.ipynb", f"user{h % 13}", None,
                   10.0, 20.0, 1e9, 10.0, 300.0, 10.0, 1.0, m * 60_000, m * 60_000 + 50_000)
            for m in range(start, min(start + 1_000, last))
            for h in range(holders)
        ]  # fmt: skip
        store.add(rows, NOW_MS)
    return store


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write every median here")
    args = parser.parse_args()
    results = []
    print("| rows | window | group_by | ours p50 ms | join p50 ms | join / ours |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="iog-usage-bench") as tmp:
        for holders, minutes in SIZES:
            store = fill(os.path.join(tmp, f"u{holders}x{minutes}.sqlite"), holders, minutes)
            for window, span_ms in WINDOWS.items():
                since = str(NOW_MS - span_ms)
                params = (minute_of(NOW_MS - span_ms), NOW_MS) * 2
                join = median_ms(lambda st=store, p=params: st._db(_JOIN, p), 3)
                for group_by in ("session", "user", "job"):
                    ours = median_ms(
                        lambda st=store, s=since, g=group_by: build_report(
                            st, s, str(NOW_MS), g, 10.0, now_ms=NOW_MS
                        ),
                        args.repeats,
                    )
                    row = {
                        "rows": holders * minutes,
                        "window": window,
                        "group_by": group_by,
                        "ours_ms": round(ours, 1),
                        "join_ms": round(join, 1),
                    }
                    results.append(row)
                    print(
                        f"| {row['rows']:,} | {window} | {group_by} | {ours:.1f} | {join:.1f} "
                        f"| {join / ours:.1f}x |"
                    )
            store.close()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
