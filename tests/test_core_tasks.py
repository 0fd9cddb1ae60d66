"""Stopping background loops: a cancellation that ``asyncio.wait_for`` swallows is sent again."""

from __future__ import annotations

import asyncio
import sys

import pytest

from iog_jupyter.core.tasks import cancel_and_wait


def _poller(futures: list[asyncio.Future]) -> asyncio.Task:
    """A loop like the server's: each pass waits for one call's result under a deadline."""

    async def loop() -> None:
        while True:
            futures.append(asyncio.get_running_loop().create_future())
            await asyncio.wait_for(futures[-1], timeout=60)

    return asyncio.get_running_loop().create_task(loop())


async def _blocked(futures: list[asyncio.Future], n: int) -> None:
    while len(futures) < n:
        await asyncio.sleep(0)


async def test_a_cancel_that_races_a_result_is_sent_again() -> None:
    futures: list[asyncio.Future] = []
    task = _poller(futures)
    await _blocked(futures, 1)
    # The call's result and the cancel land in the same turn of the loop (a thread's result
    # arriving as the server stops): Python 3.11's wait_for returns the result and the loop runs on.
    futures[-1].set_result(None)
    assert await cancel_and_wait(task, timeout_s=5) == 0
    assert task.cancelled()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps the cancel from 3.12")
async def test_one_cancel_alone_would_leave_that_loop_running() -> None:
    """Why the helper cancels again: the race above, with a single cancel()."""
    futures: list[asyncio.Future] = []
    task = _poller(futures)
    await _blocked(futures, 1)
    futures[-1].set_result(None)
    task.cancel()
    await _blocked(futures, 2)
    assert not task.done()  # the next pass started: the cancel was swallowed
    assert await cancel_and_wait(task) == 0


async def test_a_task_that_will_not_end_is_left_after_the_timeout() -> None:
    give_up = asyncio.Event()

    async def stubborn() -> None:
        while not give_up.is_set():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue

    task = asyncio.get_running_loop().create_task(stubborn())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    assert await cancel_and_wait(task, None, timeout_s=0.3) == 1
    assert 0.3 <= asyncio.get_running_loop().time() - started < 2
    assert not task.done()
    give_up.set()
    task.cancel()
    await task
