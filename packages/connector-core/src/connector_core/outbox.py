"""Outbox: the bounded FIFO of frames between a channel's `send()` and its transport's flusher.

A send transport (`connector_core.transport.SendTransport`) queues frames here: `offer()`
without waiting when there is room, `put()` waiting for room (a cancelled `put()` queued
nothing). The flusher task awaits `ready()` and `take()`s everything queued the moment it is
free, so a lone frame leaves at once and a burst leaves in batches; what it took counts as
held until it `settle()`s it. Room is counted in items, so the bound holds whatever the
batching. `connector_core.transport` re-exports `Outbox`, the path backends import it from.
"""

from __future__ import annotations

import asyncio
from collections import deque
from itertools import islice, repeat

from connector_core.exceptions import ChannelClosedError

__all__ = ["Outbox"]


class Outbox:
    """A bounded FIFO of frames between `send()` and a transport's flusher task.

    Capacity is counted in *items*: a frame weighs the number of items it carries (one for
    `send()`, up to the transport's `batch_items` for `send_many()`), so `maxsize` bounds
    items whatever the batching. A frame heavier than the free room waits until it fits, or
    until nothing else is held (so a frame heavier than `maxsize` itself still goes).

    `offer()` takes a frame without waiting when there is room; `put()` waits for room
    (cancellation-safe: a cancelled `put()` queued nothing). The flusher awaits `ready()`
    and `take()`s everything queued at that moment, so batches form only while it is busy;
    what it took counts as held until it `settle()`s it: by frames, in the order taken
    (the default), or by items (`release_by_items=True`, for transports whose receivers
    hand back credit in items). `fail(exc)` makes every waiting and later `put()` raise.
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
        "_settled",
        "_taken",
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
        self._frames: deque[bytes] = deque()
        self._weights: deque[int] = deque()  # items of each queued frame
        self._taken: deque[int] = deque()  # items of each taken, unsettled frame (by frames)
        self._queued = 0  # items queued
        self._inflight = 0  # items taken and not yet settled
        self._ready = asyncio.Event()
        self._room: deque[asyncio.Future[None]] = deque()
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
        """Items of the first queued frame (0 when none is queued)."""
        return self._weights[0] if self._weights else 0

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

    def _append(self, frame: bytes, items: int) -> None:
        self._frames.append(frame)
        self._weights.append(items)
        self._queued += items
        ready = self._ready
        if not ready.is_set():  # set once per batch, not once per frame
            ready.set()

    async def put(self, frame: bytes, items: int = 1) -> None:
        """Queues `frame`, waiting for room in FIFO order with other waiting senders.

        Raises:
            BaseException: The error the outbox failed with (nothing was queued).
        """
        if self.offer(frame, items):
            return
        head = False  # woken without room for all our items: keep the head of the line
        while True:
            fut = asyncio.get_running_loop().create_future()
            if head:
                self._room.appendleft(fut)
            else:
                self._room.append(fut)
            try:
                await fut
            except BaseException:
                if fut in self._room:
                    self._room.remove(fut)
                self._wake_room()  # pass an unused wake-up on to the next waiter
                raise
            self._room.remove(fut)  # woken: the room is ours, the next waiter stays put
            self._check()
            if not self.full(items):
                self._append(frame, items)
                self._wake_room()
                return
            head = True

    async def ready(self) -> None:
        """Waits until at least one frame is queued (returns at once if one is)."""
        if not self._frames and self._error is None:
            self._ready.clear()
            await self._ready.wait()

    def take(self, max_items: int = 0, max_bytes: int = 0) -> list[bytes]:
        """Takes queued frames for the flusher; they count as held until `settle()`.

        Args:
            max_items: Stop before exceeding this many items, but take at least one frame
                (`<= 0`: all).
            max_bytes: Stop before exceeding this many bytes, but take at least one frame
                (`<= 0`: no byte limit).
        """
        frames = self._frames
        weights = self._weights
        whole = len(frames)
        if self._queued == whole:  # one item per frame (`send()`): items are frames
            whole = whole if max_items <= 0 else min(whole, max_items)
            if max_bytes > 0 and sum(map(len, islice(frames, whole))) > max_bytes:
                whole = 0  # too many bytes: frame by frame below
        elif (max_items <= 0 or max_items >= self._queued) and max_bytes <= 0:
            whole = len(frames)  # all of them
        else:
            whole = 0
        if whole:
            if whole == len(frames):
                batch = list(frames)
                frames.clear()
                if not self._by_items:
                    self._taken.extend(weights)
                taken = self._queued
                weights.clear()
            else:
                batch = [frames.popleft() for _ in range(whole)]
                for _ in range(whole):
                    weights.popleft()
                if not self._by_items:
                    self._taken.extend(repeat(1, whole))
                taken = whole
        else:
            batch = []
            taken = size = 0
            while frames:
                weight = weights[0]
                size += len(frames[0])
                if batch and ((0 < max_items < taken + weight) or (0 < max_bytes < size)):
                    break
                batch.append(frames.popleft())
                weights.popleft()
                taken += weight
                if not self._by_items:
                    self._taken.append(weight)
        self._queued -= taken
        self._inflight += taken
        return batch

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
            fut = self._room[0]
            if not fut.done():
                fut.set_result(None)

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
        self._wake_all()
        if self._settled is not None:
            self._settled.set()
        self._ready.set()

    def close(self) -> None:
        """Refuses new frames: waiting and later `put()`s raise `ChannelClosedError`.

        What is queued stays queued for the flusher; `empty()` waits for it.
        """
        self._closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        for fut in self._room:
            if not fut.done():
                fut.set_result(None)
