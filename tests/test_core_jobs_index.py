"""The job index pages as a plain filter-sort-slice would, through puts, changes and drops."""

from __future__ import annotations

import random

from iog_jupyter.core.jobs.paging import JobIndex, decode_cursor, encode_cursor, sort_key
from iog_jupyter.core.wire import STATUSES, JobPage, JobRecord


def paginate(jobs, statuses, limit, cursor) -> JobPage:
    """The reference: filter, sort newest first, then cut after the cursor."""
    kept = sorted(
        (j for j in jobs if not statuses or j.status in statuses), key=sort_key, reverse=True
    )
    total = len(kept)
    if cursor:
        kept = [j for j in kept if sort_key(j) < decode_cursor(cursor)]
    page = kept[:limit]
    return JobPage(
        jobs=page, next_cursor=encode_cursor(page[-1]) if len(kept) > limit else None, total=total
    )


def _all_pages(page_fn, statuses):
    pages, cursor = [], None
    while True:
        page = page_fn(statuses, 17, cursor)
        pages.append(page)
        if not page.next_cursor:
            return pages
        cursor = page.next_cursor


def test_pages_match_paginate_through_changes() -> None:
    rng = random.Random(7)
    jobs = {
        f"j{i:03d}": JobRecord(
            submission_id=f"j{i:03d}",
            status=rng.choice(STATUSES),
            entrypoint="python x.py",
            start_time_ms=rng.randint(0, 40),  # many ties: the id breaks them
            backend="ray",
        )
        for i in range(300)
    }
    index = JobIndex()
    for job in jobs.values():
        index.put(job)
    for sid in list(jobs)[:60]:  # jobs end
        jobs[sid] = jobs[sid].model_copy(update={"status": "SUCCEEDED"})
        index.put(jobs[sid])
    for sid in list(jobs)[60:80]:  # jobs are deleted
        del jobs[sid]
        index.drop(sid)
    index.drop("never-there")
    assert sorted(index.ids()) == sorted(jobs) and len(jobs) == 280
    assert index.unfinished() == {s for s, j in jobs.items() if not j.is_terminal}
    for statuses in (None, frozenset({"SUCCEEDED"}), frozenset({"FAILED", "STOPPED"})):
        ours = _all_pages(index.page, statuses)
        theirs = _all_pages(lambda s, n, c: paginate(jobs.values(), s, n, c), statuses)
        assert ours == theirs
        assert sum(len(p.jobs) for p in ours) == ours[0].total
