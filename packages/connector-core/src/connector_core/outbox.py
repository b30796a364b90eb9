"""Outbox: the bounded FIFO of frames between a channel's `send()` and its transport's flusher.

A send transport (`connector_core.transport.SendTransport`) queues frames here: `offer()`
without waiting when there is room, `put()` waiting for room (a cancelled `put()` queued
nothing). The flusher task awaits `ready()` and `take()`s everything queued the moment it is
free, so a lone frame leaves at once and a burst leaves in batches; what it took counts as
held until it `settle()`s it. Room is counted in items, so the bound holds whatever the
batching. `connector_core.transport` re-exports `Outbox`, the path backends import it from.

Items may also come unsealed (`offer_item()`/`put_item()`: one item serialized by its
`send()`): consecutive ones queue as a *run*, and `take()` seals each run it takes as one
frame with the sealer the channel gave (`seal_runs_with()`). One signature then covers what
the producer sent while the flusher was busy, however many `send()` calls that was; a lone
item is a run of one and leaves as soon as the flusher is free.

A frame whose buffers travel beside it (`connector_core.payload.WithBuffers`, queued like
any frame by a `BufferSender`) is taken alone: `take()` stops before it, or returns it by
itself, so its transport sends it as a message of its own, in its place in line.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import cast

from connector_core.exceptions import ChannelClosedError
from connector_core.payload import WithBuffers
from connector_core.waiting_line import WaitingLine

__all__ = ["RUN_BYTES", "Outbox"]

RUN_BYTES = 1 << 20
"""A run of unsealed items holds about this many bytes at most (1 MiB): then one starts."""

_ITEM_OVERHEAD = 8  # bytes a run's frame adds per item (`connector_core.payload`) and more


class Outbox:
    """A bounded FIFO of frames between `send()` and a transport's flusher task.

    Capacity is counted in *items*: a frame weighs the items it carries, so `maxsize` bounds
    items whatever the batching. A frame heavier than the free room waits until it fits, or
    until nothing else is held. What the flusher took is settled by frames, in the order
    taken (the default), or by items (`release_by_items=True`, for transports whose
    receivers hand back credit in items). `fail(exc)` makes every waiting and later `put()`
    raise.
    """

    __slots__ = (
        "_by_items",
        "_closed",
        "_error",
        "_frames",
        "_inflight",
        "_maxsize",
        "_queued",
        "_ready",
        "_room",
        "_run_bytes",
        "_run_items",
        "_seal",
        "_settled",
        "_taken",
        "_waiting",
        "_weights",
    )

    def __init__(self, maxsize: int, release_by_items: bool = False) -> None:
        """Creates an empty outbox.

        Args:
            maxsize: Items it holds at most, queued plus taken but not yet settled
                (`<= 0`: unbounded).
            release_by_items: Optional; `settle()` counts items instead of frames.
        """
        self._maxsize = maxsize
        self._by_items = release_by_items
        self._frames: deque[bytes | list[bytes]] = deque()  # frames, and runs of items
        self._weights: deque[int] = deque()  # items of each queued frame (or run)
        self._seal: Callable[[list[bytes]], bytes] | None = None
        self._run_items = 0  # the most items a run holds (`seal_runs_with`)
        self._run_bytes = 0  # bytes of the last queued run
        self._taken: deque[int] = deque()  # items of each taken, unsettled frame (by frames)
        self._queued = 0  # items queued
        self._inflight = 0  # items taken and not yet settled
        self._ready = asyncio.Event()
        self._room = WaitingLine()
        self._waiting = self._room.futures  # truthy while a sender waits for room
        self._settled: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._closed = False

    def __len__(self) -> int:
        """Items held: queued plus taken and not yet settled."""
        return self._queued + self._inflight

    @property
    def error(self) -> BaseException | None:
        """The error the outbox failed with, if any."""
        return self._error

    def full(self, items: int = 1) -> bool:
        """True when a frame of `items` items would have to wait for room."""
        held = self._queued + self._inflight
        return 0 < self._maxsize < held + items and held > 0

    def queued_frames(self) -> int:
        """Frames queued and not yet taken."""
        return len(self._frames)

    def first_items(self) -> int:
        """Items the first queued frame needs room for (0 when none is queued).

        A run of unsealed items can be split: it needs room for one.
        """
        if not self._weights:
            return 0
        return 1 if type(self._frames[0]) is list else self._weights[0]

    def queued_items(self) -> int:
        """Items queued and not yet taken."""
        return self._queued

    def offer(self, frame: bytes, items: int = 1) -> bool:
        """Queues `frame` (carrying `items` items) if there is room now; False when full.

        Raises:
            ChannelClosedError: If the outbox was closed.
            BaseException: The error the outbox failed with.
        """
        if self._error is not None or self._closed:
            self._check()
        if self._room or self.full(items):
            return False  # waiters first: a frame never overtakes one queued before it
        self._append(frame, items)
        return True

    def _append(self, frame: bytes | list[bytes], items: int) -> None:
        self._frames.append(frame)
        self._weights.append(items)
        self._queued += items
        ready = self._ready
        if not ready.is_set():  # set once per batch, not once per frame
            ready.set()

    def seal_runs_with(self, seal: Callable[[list[bytes]], bytes], run_items: int) -> None:
        """Lets the outbox take unsealed items (`offer_item`), sealed in runs by `seal`.

        Args:
            seal: Seals serialized items, in order, as one frame (the channel's, which
                numbers its frames).
            run_items: The most items one run (so one frame) holds.
        """
        self._seal = seal
        self._run_items = max(1, run_items)

    def offer_item(self, payload: bytes, in_turn: bool = False) -> bool:
        """Queues one serialized, unsealed item if there is room now; False when full.

        It joins the run queued last if that has room (`run_items`, and about
        `RUN_BYTES`), else starts one.

        Args:
            payload: The serialized item.
            in_turn: Optional; the caller waited in line for this room (`put_item`): the
                room is its own, whoever waits behind it.

        Raises:
            ChannelClosedError: If the outbox was closed.
            BaseException: The error the outbox failed with.
        """
        if self._error is not None or self._closed:
            self._check()
        # `self._room or self.full(1)`, inlined: once per item
        if (self._waiting and not in_turn) or 0 < self._maxsize <= self._queued + self._inflight:
            return False
        frames = self._frames
        size = len(payload)
        if frames:
            last = frames[-1]
            if (
                type(last) is list
                and len(last) < self._run_items
                and self._run_bytes + size <= RUN_BYTES
            ):
                last.append(payload)
                self._weights[-1] += 1
                self._run_bytes += size
                self._queued += 1
                return True  # not the first entry: the ready event is set already
        self._run_bytes = size
        self._append([payload], 1)  # a new run
        return True

    async def put_item(self, payload: bytes) -> None:
        """Queues one unsealed item (as `offer_item`), waiting for room like `put()`.

        Raises:
            BaseException: The error the outbox failed with (nothing was queued).
        """
        if not self.offer_item(payload):
            await self._room_for(1)
            self.offer_item(payload, in_turn=True)  # the room is there: it queues
            self._wake_room()

    async def put(self, frame: bytes, items: int = 1) -> None:
        """Queues `frame`, waiting for room in FIFO order with other waiting senders.

        Raises:
            BaseException: The error the outbox failed with (nothing was queued).
        """
        if not self.offer(frame, items):
            await self._room_for(items)
            self._append(frame, items)
            self._wake_room()

    async def _room_for(self, items: int) -> None:
        """Waits, in line with the other waiting senders, until `items` fit (then returns)."""
        await self._room.wait_turn(items, self._fits, self._check)

    def _fits(self, items: int) -> bool:
        return not self.full(items)

    async def ready(self) -> None:
        """Waits until at least one frame is queued (returns at once if one is)."""
        if not self._frames and self._error is None:
            self._ready.clear()
            await self._ready.wait()

    def take(
        self, max_items: int = 0, max_bytes: int = 0, counts: list[int] | None = None
    ) -> list[bytes]:
        """Takes queued frames for the flusher; they count as held until `settle()`.

        A run of unsealed items is sealed into one frame as it is taken (split where a
        limit falls inside it: the rest stays first in line). A `WithBuffers` frame is
        taken alone.

        Args:
            max_items: Stop before exceeding this many items, but take at least one frame
                (`<= 0`: all).
            max_bytes: Stop before exceeding this many bytes, but take at least one frame
                (`<= 0`: no byte limit).
            counts: Optional; gets the items of each frame taken appended, in order.
        """
        frames = self._frames
        weights = self._weights
        batch: list[bytes] = []
        taken = size = 0
        while frames:
            entry = frames[0]
            weight = weights[0]
            whole = weight
            if type(entry) is list:
                frame, weight = self._seal_run(
                    max_items - taken if max_items > 0 else weight,
                    max(1, max_bytes - size) if max_bytes > 0 else 0,
                    not batch,
                )
                if not weight:
                    break  # nothing of it fits beside what is taken
            else:
                frame = cast(bytes, entry)
                if batch and (
                    (0 < max_items < taken + weight)
                    or (0 < max_bytes < size + len(frame))
                    or type(frame) is WithBuffers  # it travels alone
                ):
                    break
                frames.popleft()
                weights.popleft()
            batch.append(frame)
            taken += weight
            size += len(frame)
            if not self._by_items:
                self._taken.append(weight)
            if counts is not None:
                counts.append(weight)
            if weight < whole or type(frame) is WithBuffers:
                break  # a run split by a limit (the rest waits), or a frame that goes alone
        self._queued -= taken
        self._inflight += taken
        return batch

    def _seal_run(self, items: int, max_bytes: int, first: bool) -> tuple[bytes, int]:
        """Seals the first queued run, or as much of it as fits, as one frame.

        Args:
            items: Items that may still be taken.
            max_bytes: Bytes that may still be taken (`<= 0`: no byte limit).
            first: Nothing is taken yet: take one item at least.

        Returns:
            The frame and the items it holds (`(b"", 0)` when none fit).
        """
        run = cast(list[bytes], self._frames[0])
        weight = self._weights[0]
        count = self._run_part(run, items, max_bytes)
        if count == 0:
            if not first:
                return b"", 0
            count = 1
        if count == weight:
            self._frames.popleft()
            self._weights.popleft()
        else:
            run, rest = run[:count], run
            del rest[:count]
            self._weights[0] = weight - count
            if rest is self._frames[-1]:
                self._run_bytes = sum(map(len, rest))
        assert self._seal is not None  # runs come only after `seal_runs_with`
        return self._seal(run), count

    @staticmethod
    def _run_part(run: list[bytes], items: int, max_bytes: int) -> int:
        """How many of a run's first items fit `items` and (if > 0) `max_bytes`."""
        count = min(len(run), max(0, items))
        if max_bytes <= 0:
            return count
        size = _ITEM_OVERHEAD
        for index in range(count):
            size += len(run[index]) + _ITEM_OVERHEAD
            if size > max_bytes:
                return index
        return count

    def settle(self, count: int) -> None:
        """Releases the room of `count` frames taken earlier, in the order taken.

        For an outbox made with `release_by_items`, `count` is items instead.
        """
        if self._by_items:
            items = count
        else:
            taken = self._taken
            items = 0
            for _ in range(min(count, len(taken))):
                items += taken.popleft()
        self._inflight -= items
        self._wake_room()
        if self._settled is not None and not self:
            self._settled.set()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ChannelClosedError("the channel was closed while sending")

    def _wake_room(self) -> None:
        if self._room and not self.full():
            self._room.wake_first()

    async def empty(self) -> None:
        """Waits until every frame was taken and settled.

        Raises:
            BaseException: The error the outbox failed with, if it fails meanwhile.
        """
        while self:
            if self._error is not None:
                raise self._error
            if self._settled is None:
                self._settled = asyncio.Event()
            self._settled.clear()
            await self._settled.wait()

    def fail(self, exc: BaseException) -> None:
        """Fails the outbox: waiting and later `put()`s, and `empty()`, raise `exc`."""
        self._error = exc
        self._room.wake_all()
        if self._settled is not None:
            self._settled.set()
        self._ready.set()

    def close(self) -> None:
        """Refuses new frames: waiting and later `put()`s raise `ChannelClosedError`.

        What is queued stays queued for the flusher; `empty()` waits for it.
        """
        self._closed = True
        self._room.wake_all()
