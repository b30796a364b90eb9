"""`Outbox` runs: items queued unsealed by `send()` leave sealed together, one frame per run.

Each test proves one behaviour. A task is given one scheduling step (`asyncio.sleep(0)`) to
run up to the future it parks on: a scheduling step, not a settling delay.
"""

from __future__ import annotations

import asyncio

import pytest

from connector_core import ChannelClosedError
from connector_core.transport import Outbox

DEADLINE = 10.0


class Runs:
    """A sealer that records each run it seals and returns it joined, to read back."""

    def __init__(self) -> None:
        self.sealed: list[list[bytes]] = []

    def __call__(self, payloads: list[bytes]) -> bytes:
        self.sealed.append(list(payloads))
        return b"|".join(payloads)


def _outbox(maxsize: int = 100, run_items: int = 1000) -> tuple[Outbox, Runs]:
    box = Outbox(maxsize)
    runs = Runs()
    box.seal_runs_with(runs, run_items)
    return box, runs


def test_items_queued_together_leave_as_one_sealed_frame() -> None:
    box, runs = _outbox()
    for item in (b"a", b"b", b"c"):
        assert box.offer_item(item)
    assert box.queued_frames() == 1
    assert box.take() == [b"a|b|c"]
    assert runs.sealed == [[b"a", b"b", b"c"]]


def test_a_run_counts_its_items_for_room() -> None:
    box, _ = _outbox(maxsize=3)
    assert all(box.offer_item(b"x") for _ in range(3))
    assert len(box) == 3
    assert not box.offer_item(b"x")


def test_a_run_is_cut_at_the_items_the_flusher_asks_for() -> None:
    box, runs = _outbox()
    for item in (b"a", b"b", b"c", b"d", b"e"):
        box.offer_item(item)
    assert box.take(max_items=2) == [b"a|b"]
    assert box.queued_items() == 3
    assert box.take() == [b"c|d|e"]
    assert runs.sealed == [[b"a", b"b"], [b"c", b"d", b"e"]]


def test_a_run_is_cut_at_the_bytes_the_flusher_asks_for_but_one_item_always_goes() -> None:
    box, _ = _outbox()
    for item in (b"1" * 50, b"2" * 50, b"3" * 50):
        box.offer_item(item)
    assert box.take(max_bytes=130) == [b"1" * 50 + b"|" + b"2" * 50]  # with its framing
    box.offer_item(b"4" * 500)
    assert box.take(max_bytes=10) == [b"3" * 50]
    assert box.take(max_bytes=10) == [b"4" * 500]


def test_a_run_holds_at_most_run_items_then_a_new_one_starts() -> None:
    box, _ = _outbox(run_items=2)
    for item in (b"a", b"b", b"c"):
        box.offer_item(item)
    assert box.queued_frames() == 2
    assert box.take() == [b"a|b", b"c"]


def test_a_sealed_frame_between_items_keeps_its_place_and_splits_the_runs() -> None:
    box, _ = _outbox()
    box.offer_item(b"a")
    assert box.offer(b"BATCH", 3)
    box.offer_item(b"b")
    assert box.take() == [b"a", b"BATCH", b"b"]
    assert len(box) == 5


def test_the_first_entry_of_a_run_needs_room_for_one_item() -> None:
    box, _ = _outbox()
    box.offer_item(b"a")
    box.offer_item(b"b")
    assert box.first_items() == 1
    box.take()
    box.offer(b"BATCH", 4)
    assert box.first_items() == 4


def test_settling_releases_a_runs_items_by_frames() -> None:
    box, _ = _outbox(maxsize=3)
    for _ in range(3):
        box.offer_item(b"x")
    box.take()
    assert not box.offer_item(b"x")
    box.settle(1)  # the one frame of three items
    assert len(box) == 0
    assert box.offer_item(b"x")


async def test_put_item_waits_for_room_and_joins_the_queue_when_there_is_some() -> None:
    box, _ = _outbox(maxsize=1)
    box.offer_item(b"first")
    waiting = asyncio.create_task(box.put_item(b"second"))
    await asyncio.sleep(0)
    assert not waiting.done()
    assert box.take() == [b"first"]
    box.settle(1)
    async with asyncio.timeout(DEADLINE):
        await waiting
    assert box.take() == [b"second"]


async def test_a_cancelled_put_item_queued_nothing() -> None:
    box, _ = _outbox(maxsize=1)
    box.offer_item(b"first")
    waiting = asyncio.create_task(box.put_item(b"second"))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert box.take() == [b"first"]
    assert box.queued_items() == 0


async def test_a_put_item_waiting_on_a_closed_outbox_raises() -> None:
    box, _ = _outbox(maxsize=1)
    box.offer_item(b"first")
    waiting = asyncio.create_task(box.put_item(b"second"))
    await asyncio.sleep(0)
    box.close()
    with pytest.raises(ChannelClosedError):
        async with asyncio.timeout(DEADLINE):
            await waiting


def test_take_reports_the_items_of_each_frame_it_took() -> None:
    box, _ = _outbox()
    box.offer_item(b"a")
    box.offer_item(b"b")
    box.offer(b"BATCH", 3)
    box.offer_item(b"c")
    counts: list[int] = []
    assert box.take(counts=counts) == [b"a|b", b"BATCH", b"c"]
    assert counts == [2, 3, 1]


def test_the_same_frame_object_queued_twice_is_taken_twice_in_one_take() -> None:
    box, _ = _outbox()
    frame = b"FRAME"
    box.offer(frame)
    box.offer(frame)
    assert box.take() == [frame, frame]
    assert box.queued_items() == 0
