"""``WS events/subscribe``: a change made through the server is pushed to subscribers at once."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from .test_handlers_jobs import api, jobs_backend, jp_server_config, submit  # noqa: F401

pytestmark = pytest.mark.ray


async def _next(ws, deadline_s: float = 20.0) -> dict:
    raw = await asyncio.wait_for(ws.read_message(), deadline_s)
    assert raw is not None, "the server closed the socket"
    return json.loads(raw)


@pytest.mark.parametrize("jobs_backend", ["local"], indirect=True)
async def test_a_submitted_job_is_pushed_as_a_jobs_change(jp_fetch, jp_ws_fetch, jobs_backend):  # noqa: F811
    ws = await jp_ws_fetch("iog", "api", "v1", "events", "subscribe", params={"topics": "jobs"})
    assert await _next(ws) == {"type": "subscribed", "topics": ["jobs"]}
    # The feed takes its first fingerprint before it can tell a change.
    await asyncio.sleep(0.2)
    submission_id = await submit(jp_fetch, "true")
    assert await _next(ws) == {"type": "changed", "topic": "jobs"}
    code, page, _ = await api(jp_fetch, "jobs")
    assert code == 200 and submission_id in [j["submission_id"] for j in page["jobs"]]
    ws.close()


async def test_unknown_topics_and_parameters_are_400(jp_ws_fetch):
    for params in ({"topics": "jobs,secrets"}, {"topics": " , "}, {"since": "1"}):
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch("iog", "api", "v1", "events", "subscribe", params=params)
        assert info.value.code == 400, params
