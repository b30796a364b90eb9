"""`Outbox`: the bounded FIFO of frames between `send()` and a transport's flusher task.

Each test proves one behaviour. Tasks are started and then given one scheduling step
(`_step()`, `asyncio.sleep(0)`) to run up to the future they park on: a scheduling step, not a
settling delay. Whatever must finish is awaited under `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from connector_core import ChannelClosedError
from connector_core.transport import Outbox

DEADLINE = 10.0
"""Seconds anything awaited here may take before it counts as a hang."""


async def _step(steps: int = 1) -> None:
    """Lets every ready task run `steps` scheduling steps (up to its next await)."""
    for _ in range(steps):
        await asyncio.sleep(0)


async def _parked(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """Starts `coro` and returns its task once it waits (asserting that it does)."""
    task = asyncio.create_task(coro)
    await _step()
    assert not task.done(), "expected the call to wait"
    return task


async def _drain(box: Outbox, count: int) -> list[bytes]:
    """Plays the flusher: takes and settles until `count` frames have left."""
    out: list[bytes] = []
    async with asyncio.timeout(DEADLINE):
        while len(out) < count:
            await box.ready()
            batch = box.take()
            out += batch
            box.settle(len(batch))
    return out


async def test_frames_leave_in_the_order_they_were_offered() -> None:
    box = Outbox(10)
    for frame in (b"a", b"b", b"c"):
        assert box.offer(frame)
    assert box.take() == [b"a", b"b", b"c"]


async def test_offer_refuses_when_full() -> None:
    box = Outbox(2)
    assert box.offer(b"a")
    assert box.offer(b"b")
    assert box.full()
    assert not box.offer(b"c")
    assert box.take() == [b"a", b"b"]


async def test_an_unbounded_outbox_never_refuses() -> None:
    box = Outbox(0)
    assert all(box.offer(b"x") for _ in range(10_000))
    assert not box.full()
    assert len(box) == 10_000


async def test_offer_refuses_while_a_put_is_waiting_even_with_room() -> None:
    box = Outbox(1)
    box.offer(b"first")
    waiting = await _parked(box.put(b"waiting"))
    box.settle(len(box.take()))  # room now, but the waiting put has not run yet
    assert not box.full()
    assert not box.offer(b"overtaker"), "an offer must not overtake a waiting put"
    async with asyncio.timeout(DEADLINE):
        await waiting
    assert box.take() == [b"waiting"]


async def test_put_waits_for_room() -> None:
    box = Outbox(1)
    box.offer(b"a")
    waiting = await _parked(box.put(b"b"))
    batch = box.take()
    await _step()
    assert not waiting.done(), "taken frames hold their room until settled"
    box.settle(len(batch))
    async with asyncio.timeout(DEADLINE):
        await waiting
    assert box.take() == [b"b"]


async def test_put_queues_at_once_when_there_is_room() -> None:
    box = Outbox(2)
    async with asyncio.timeout(DEADLINE):
        await box.put(b"a")
    assert box.take() == [b"a"]


async def test_a_cancelled_put_queued_nothing() -> None:
    box = Outbox(1)
    box.offer(b"a")
    waiting = await _parked(box.put(b"cancelled"))
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    box.settle(len(box.take()))
    await _step()
    assert len(box) == 0
    assert box.take() == []


async def test_a_put_cancelled_after_its_wake_up_passes_the_room_on() -> None:
    box = Outbox(1)
    box.offer(b"a")
    first = await _parked(box.put(b"first"))
    second = await _parked(box.put(b"second"))
    box.settle(len(box.take()))  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    async with asyncio.timeout(DEADLINE):
        await second
    assert box.take() == [b"second"]


async def test_settle_wakes_waiting_puts_in_fifo_order() -> None:
    box = Outbox(1)
    box.offer(b"0")
    puts = [await _parked(box.put(name)) for name in (b"A", b"B", b"C", b"D")]
    assert await _drain(box, 5) == [b"0", b"A", b"B", b"C", b"D"]
    async with asyncio.timeout(DEADLINE):
        await asyncio.gather(*puts)


async def test_settling_several_frames_lets_as_many_waiting_puts_in() -> None:
    box = Outbox(3)
    for frame in (b"a", b"b", b"c"):
        box.offer(frame)
    puts = [await _parked(box.put(name)) for name in (b"x", b"y", b"z")]
    box.settle(len(box.take()))
    async with asyncio.timeout(DEADLINE):
        await asyncio.gather(*puts)
    assert box.take() == [b"x", b"y", b"z"]


async def test_take_returns_everything_queued_by_default() -> None:
    box = Outbox(0)
    for i in range(5):
        box.offer(bytes([i]))
    assert box.take() == [bytes([i]) for i in range(5)]
    assert box.take() == []


async def test_take_max_items_limits_the_batch() -> None:
    box = Outbox(0)
    for frame in (b"a", b"b", b"c"):
        box.offer(frame)
    assert box.take(max_items=2) == [b"a", b"b"]
    assert box.take(max_items=2) == [b"c"]


async def test_take_max_bytes_stops_before_exceeding_the_limit() -> None:
    box = Outbox(0)
    for frame in (b"aaa", b"bbb", b"ccc"):
        box.offer(frame)
    assert box.take(max_bytes=7) == [b"aaa", b"bbb"]
    assert box.take(max_bytes=7) == [b"ccc"]


async def test_take_max_bytes_takes_at_least_one_frame() -> None:
    box = Outbox(0)
    box.offer(b"x" * 100)
    box.offer(b"y")
    assert box.take(max_bytes=10) == [b"x" * 100]


async def test_take_max_items_and_max_bytes_together_take_at_least_one_frame() -> None:
    box = Outbox(0)
    box.offer(b"x" * 100)
    assert box.take(max_items=1, max_bytes=1) == [b"x" * 100]


async def test_taken_frames_hold_their_room_until_settled() -> None:
    box = Outbox(2)
    box.offer(b"a")
    box.offer(b"b")
    batch = box.take()
    assert len(box) == 2
    assert box.full()
    assert not box.offer(b"c")
    box.settle(len(batch))
    assert len(box) == 0
    assert box.offer(b"c")


async def test_empty_returns_at_once_when_nothing_is_held() -> None:
    box = Outbox(2)
    async with asyncio.timeout(DEADLINE):
        await box.empty()


async def test_empty_waits_until_taken_frames_are_settled() -> None:
    box = Outbox(4)
    box.offer(b"a")
    box.offer(b"b")
    emptied = await _parked(box.empty())
    batch = box.take()
    await _step()
    assert not emptied.done(), "taken but unsettled frames are still held"
    box.settle(1)
    await _step()
    assert not emptied.done()
    box.settle(len(batch) - 1)
    async with asyncio.timeout(DEADLINE):
        await emptied


async def test_fail_wakes_waiting_puts_with_the_error() -> None:
    box = Outbox(1)
    box.offer(b"a")
    waiting = [await _parked(box.put(b"b")), await _parked(box.put(b"c"))]
    error = ConnectionError("the link broke")
    box.fail(error)
    for task in waiting:
        async with asyncio.timeout(DEADLINE):
            with pytest.raises(ConnectionError) as raised:
                await task
        assert raised.value is error
    assert box.error is error


async def test_after_fail_offer_and_put_raise_the_error() -> None:
    box = Outbox(4)
    box.fail(ConnectionError("the link broke"))
    with pytest.raises(ConnectionError):
        box.offer(b"a")
    with pytest.raises(ConnectionError):
        await box.put(b"b")
    assert box.take() == []


async def test_fail_wakes_empty_with_the_error() -> None:
    box = Outbox(4)
    box.offer(b"a")
    box.take()
    emptied = await _parked(box.empty())
    box.fail(ConnectionError("the link broke"))
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ConnectionError):
            await emptied


async def test_fail_wakes_a_flusher_waiting_in_ready() -> None:
    box = Outbox(4)
    flusher = await _parked(box.ready())
    box.fail(ConnectionError("the link broke"))
    async with asyncio.timeout(DEADLINE):
        await flusher


async def test_close_refuses_new_frames() -> None:
    box = Outbox(4)
    box.close()
    with pytest.raises(ChannelClosedError):
        box.offer(b"a")
    with pytest.raises(ChannelClosedError):
        await box.put(b"b")


async def test_close_wakes_waiting_puts_with_channel_closed_error() -> None:
    box = Outbox(1)
    box.offer(b"a")
    waiting = await _parked(box.put(b"b"))
    box.close()
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ChannelClosedError):
            await waiting
    assert box.take() == [b"a"], "the refused frame was not queued"


async def test_close_keeps_queued_frames_for_the_flusher() -> None:
    box = Outbox(4)
    box.offer(b"a")
    box.offer(b"b")
    box.close()
    emptied = await _parked(box.empty())
    async with asyncio.timeout(DEADLINE):
        await box.ready()
    batch = box.take()
    assert batch == [b"a", b"b"]
    box.settle(len(batch))
    async with asyncio.timeout(DEADLINE):
        await emptied


async def test_ready_returns_at_once_when_frames_are_queued() -> None:
    box = Outbox(4)
    box.offer(b"a")
    async with asyncio.timeout(DEADLINE):
        await box.ready()
    async with asyncio.timeout(DEADLINE):
        await box.ready()  # still queued: still ready


async def test_ready_waits_for_the_first_frame() -> None:
    box = Outbox(4)
    box.offer(b"a")
    box.take()  # nothing queued any more (one frame in flight)
    flusher = await _parked(box.ready())
    box.offer(b"b")
    async with asyncio.timeout(DEADLINE):
        await flusher
    assert box.take() == [b"b"]


async def test_len_counts_queued_and_taken_unsettled_frames() -> None:
    box = Outbox(0)
    for frame in (b"a", b"b", b"c"):
        box.offer(frame)
    box.take(max_items=2)
    assert len(box) == 3
    box.settle(2)
    assert len(box) == 1


# -- weights: a frame counts as the items it carries -------------------------------------


async def test_a_frame_of_several_items_takes_that_much_room() -> None:
    box = Outbox(5)
    assert box.offer(b"batch", 3)
    assert len(box) == 3
    assert not box.offer(b"too-many", 3)
    assert box.offer(b"fits", 2)


async def test_a_frame_heavier_than_maxsize_goes_when_nothing_else_is_held() -> None:
    box = Outbox(2)
    assert box.offer(b"huge", 10)
    assert not box.offer(b"one")


async def test_a_heavy_put_waits_until_all_its_items_fit() -> None:
    box = Outbox(4)
    assert box.offer(b"a", 3)
    heavy = await _parked(box.put(b"b", 3))
    box.take()
    box.settle(1)  # frame "a" (3 items) left: now 3 of 4 are free
    async with asyncio.timeout(DEADLINE):
        await heavy
    assert len(box) == 3


async def test_a_heavy_put_woken_without_enough_room_keeps_its_place() -> None:
    box = Outbox(4, release_by_items=True)
    assert box.offer(b"a", 4)
    heavy = await _parked(box.put(b"heavy", 3))
    light = await _parked(box.put(b"light", 1))
    box.take()
    box.settle(1)  # one item of room: not enough for the heavy frame at the head
    await _step(2)
    assert not heavy.done()
    assert not light.done(), "the light frame must not overtake the heavy one"
    box.settle(3)
    async with asyncio.timeout(DEADLINE):
        await heavy
        await light
    assert box.take() == [b"heavy", b"light"]


async def test_take_max_items_counts_items_not_frames() -> None:
    box = Outbox(0)
    for frame, items in ((b"a", 2), (b"b", 2), (b"c", 2)):
        box.offer(frame, items)
    assert box.take(max_items=5) == [b"a", b"b"]
    assert box.first_items() == 2
    assert box.queued_frames() == 1


async def test_settle_by_frames_releases_the_items_they_carried() -> None:
    box = Outbox(10)
    box.offer(b"a", 4)
    box.offer(b"b", 1)
    box.take()
    box.settle(1)
    assert len(box) == 1


async def test_settle_by_items_releases_that_many_items() -> None:
    box = Outbox(10, release_by_items=True)
    box.offer(b"a", 4)
    box.take()
    box.settle(3)
    assert len(box) == 1
