"""`Resources`: what the soak tests count after every channel closed."""

from __future__ import annotations

import asyncio
import threading

import pytest

from connector_core.testing.stress import Resources

pytest.importorskip("psutil", reason="resource checks need psutil")


async def test_the_event_loops_default_executor_is_not_counted_as_thread_growth() -> None:
    before = Resources.now()
    release = threading.Event()
    loop = asyncio.get_running_loop()
    busy = [loop.run_in_executor(None, release.wait) for _ in range(2)]  # two pool workers
    assert any(t.name.startswith("asyncio_") for t in threading.enumerate())
    grown = before.growth(Resources.now())["threads"]
    release.set()
    await asyncio.gather(*busy)
    assert grown == 0


def test_any_other_thread_counts() -> None:
    before = Resources.now()
    release = threading.Event()
    worker = threading.Thread(target=release.wait, name="a-leak")
    worker.start()
    try:
        assert before.growth(Resources.now())["threads"] == 1
    finally:
        release.set()
        worker.join()
