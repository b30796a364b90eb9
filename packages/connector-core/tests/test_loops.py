"""`running_here`: whether a loop is the one running in this thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from connector_core.loops import running_here


def test_the_running_loop_is_running_here() -> None:
    async def check() -> bool:
        return running_here(asyncio.get_running_loop())

    assert asyncio.run(check())


def test_no_loop_is_never_running_here() -> None:
    async def check() -> bool:
        return running_here(None)

    assert not asyncio.run(check())
    assert not running_here(None)


def test_a_loop_that_is_not_running_is_not_running_here() -> None:
    idle = asyncio.new_event_loop()
    try:

        async def check() -> bool:
            return running_here(idle)

        assert not asyncio.run(check())
        assert not running_here(idle)
    finally:
        idle.close()


def test_a_loop_running_in_another_thread_is_not_running_here() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        started = threading.Event()
        loop.call_soon_threadsafe(started.set)
        assert started.wait(30)
        assert not running_here(loop)
        seen: list[bool] = []
        done = threading.Event()

        def look() -> None:
            seen.append(running_here(loop))
            done.set()

        loop.call_soon_threadsafe(look)
        assert done.wait(30)
        assert seen == [True]  # in its own thread it is
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


class LoopWithoutThreadRecord:
    """A loop of another implementation: it keeps no record of its thread."""


def test_a_loop_without_a_thread_record_is_compared_with_the_running_loop() -> None:
    other: Any = LoopWithoutThreadRecord()

    async def check() -> bool:
        return running_here(other)

    assert not asyncio.run(check())
