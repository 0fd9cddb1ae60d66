"""Job quotas: each refuses with 429's error and a message, counts nothing refused, 0 = off."""

from __future__ import annotations

import pytest

from iog_jupyter.core.errors import QuotaExceededError
from iog_jupyter.core.security.quotas import QuotaLimits, Quotas


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_limits_by_default():
    quotas = Quotas(QuotaLimits())
    for _ in range(100):
        quotas.check_submit("alice", lambda: pytest.fail("not counted when unlimited"))


def test_submissions_per_minute_slide():
    clock = Clock()
    quotas = Quotas(QuotaLimits(max_submits_per_minute=2), clock=clock)
    quotas.check_submit("alice", lambda: 0)
    clock.now += 30
    quotas.check_submit("alice", lambda: 0)
    with pytest.raises(QuotaExceededError, match=r"limit is 2\. Try again in 30 s"):
        quotas.check_submit("alice", lambda: 0)
    quotas.check_submit("bob", lambda: 0)  # per user
    clock.now += 30.5  # the first one left the window; the refusal was not counted
    quotas.check_submit("alice", lambda: 0)
    with pytest.raises(QuotaExceededError):
        quotas.check_submit("alice", lambda: 0)


def test_active_jobs_refused_before_the_rate_counts():
    quotas = Quotas(QuotaLimits(max_active_jobs=3, max_submits_per_minute=1))
    with pytest.raises(QuotaExceededError, match="You have 3 jobs pending or running"):
        quotas.check_submit("alice", lambda: 3)
    quotas.check_submit("alice", lambda: 2)  # the refused one did not use the minute's slot
