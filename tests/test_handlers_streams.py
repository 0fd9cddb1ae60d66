"""The live log websocket: lines arrive, resume by offset with no loss or duplicate, then status."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from .test_handlers_jobs import api, jobs_backend, jp_server_config, submit  # noqa: F401

pytestmark = pytest.mark.ray

SCRIPT = (
    'python -u -c "import time\n'
    "for i in range(6):\n"
    "    print(f'line {i} \\u00e9', flush=True)\n"
    '    time.sleep(0.3)"'
)


async def _tail(jp_ws_fetch, submission_id: str, offset: int = 0, deadline_s: float = 90):
    """Collect every message of one tail until the server sends the final status."""
    ws = await jp_ws_fetch(
        "iog", "api", "v1", "jobs", submission_id, "logs", "tail", params={"offset": str(offset)}
    )
    logs, final = [], None

    async def read_all():
        nonlocal final
        while True:
            raw = await ws.read_message()
            if raw is None:
                return
            message = json.loads(raw)
            if message["type"] == "log":
                logs.append(message)
            elif message["type"] == "status":
                final = message

    await asyncio.wait_for(read_all(), deadline_s)
    ws.close()
    return logs, final


@pytest.mark.parametrize("jobs_backend", ["ray", "local"], indirect=True)
async def test_tail_follows_a_running_job_to_its_end(jp_fetch, jp_ws_fetch, jobs_backend):  # noqa: F811
    submission_id = await submit(jp_fetch, SCRIPT)
    logs, final = await _tail(jp_ws_fetch, submission_id)
    text = "".join(m["text"] for m in logs)
    assert [f"line {i} \u00e9" for i in range(6)] == [
        line for line in text.splitlines() if line.startswith("line ")
    ]
    # Contiguous byte ranges: no loss, no duplicates.
    offsets = [(m["offset"], m["next_offset"]) for m in logs]
    assert offsets[0][0] == 0
    assert all(a[1] == b[0] for a, b in zip(offsets, offsets[1:], strict=False))
    assert final is not None and final["status"] == "SUCCEEDED"
    assert final.get("exit_code") in (0, None)

    # Resume from the middle: exactly the rest, byte for byte.
    whole = text.encode()
    middle = len("line 0 \u00e9\n".encode())
    rest_logs, rest_final = await _tail(jp_ws_fetch, submission_id, offset=middle)
    rest = "".join(m["text"] for m in rest_logs).encode()
    assert rest == whole[middle:]
    assert rest_logs[0]["offset"] == middle
    assert rest_final["status"] == "SUCCEEDED"


async def test_tail_refuses_bad_offsets_and_unknown_jobs(jp_fetch, jp_ws_fetch):
    for parts, params, code in (
        (("no-such-job",), {"offset": "0"}, 404),
        (("some-job",), {"offset": "-3"}, 400),
        (("some-job",), {"offset": "abc"}, 400),
        (("bad%2Fid",), {"offset": "0"}, 400),
    ):
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch("iog", "api", "v1", "jobs", *parts, "logs", "tail", params=params)
        assert info.value.code == code, (parts, params)
    # Nothing was created by refused requests.
    code, page, _ = await api(jp_fetch, "jobs", limit="1")
    assert code == 200
    assert all(job["submission_id"] not in ("no-such-job", "some-job") for job in page["jobs"])
