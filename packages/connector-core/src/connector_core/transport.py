"""Transports: what a backend supplies so that core's `TransportChannel` can move its frames.

A channel is split in two layers. `connector_core.transport_channel.TransportChannel` (core)
owns everything a user sees: the codec, the counters, the closed flag, the event-loop check,
iteration and statistics. A *transport* (the backend) moves frames of bytes and nothing else:

- `SendTransport`: `try_send(frame)` takes a frame without waiting when it has room now (the
  common case, so a send that does not wait costs no coroutine switch); `send(frame)` waits
  for room. `close()` delivers what it holds and ends this sender's part of the connection.
- `RecvTransport`: `try_recv()` returns the next *verified payload* (the serialized list of
  items of one frame) without waiting, or None;
  `recv()` waits for one and raises `ChannelClosedError` once the connection has ended and
  everything was delivered. A receive transport checks every frame's signature when it
  arrives, with `Verifier.accept()`, before it buffers, counts, deduplicates or acts on it:
  what reaches the channel is signed by a member of the connection, and what did not verify
  was dropped and counted in `Verifier.rejected`. `close()` gives back what was not taken,
  including the items the channel hands back with `give_back(frame, items)` first.

Both may be cancelled at any await without losing a frame: a `send()` cancelled while waiting
for room sent nothing; a `recv()` cancelled while waiting took nothing.

Shared parts live here once: `Verifier` (verification at the edge, counted and logged once)
and `Outbox` (the bounded FIFO between `send()` and a transport's flusher task, with "wait for
room"). An `Outbox` batches only while its transport is busy: the flusher takes everything
queued the moment it is free, so a lone frame leaves at once and a burst leaves in batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol, runtime_checkable

from connector_core.codec import Codec, MessageRejectedError
from connector_core.envelope import ReplayGuard
from connector_core.exceptions import ChannelClosedError

__all__ = ["Outbox", "RecvTransport", "SendTransport", "Verifier"]

_log = logging.getLogger(__name__)


@runtime_checkable
class SendTransport(Protocol):
    """The sending side of a backend: moves signed frames towards the receivers."""

    batch_items: int
    """The most items one frame may carry (`send_many()` seals batches of at most this)."""

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        """Takes `frame` (carrying `items` items) now if there is room; False when full."""
        ...

    async def send(self, frame: bytes, items: int = 1) -> None:
        """Takes `frame` (carrying `items` items), waiting for room; if cancelled, sent nothing."""
        ...

    async def close(self) -> None:
        """Delivers what is held and ends this sender's part of the connection."""
        ...

    def buffered(self) -> int:
        """Items held here and not yet delivered (a frame counts the items it carries)."""
        ...

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) of the connection that this side knows of."""
        ...


@runtime_checkable
class RecvTransport(Protocol):
    """The receiving side of a backend: yields verified payloads until the end."""

    verifier: Verifier

    def try_recv(self) -> bytes | None:
        """The next verified payload if one is here now (never waits), else None."""
        ...

    async def recv(self) -> bytes:
        """Waits for the next verified payload.

        Raises:
            ChannelClosedError: When the connection has ended and everything was delivered.
        """
        ...

    def give_back(self, frame: bytes, items: int) -> None:
        """Takes back items the channel had taken but not returned, before `close()`.

        The channel calls it when it closes while it still holds items of a frame it took
        (a frame of `send_many()`, of which the user received only some). `frame` carries
        those items, sealed by the channel as a sender of its own. A pipeline receiver hands
        it on like a frame it had not taken (to another receiver, first in line where the
        transport can); a pubsub receiver drops it, as it drops everything it leaves.
        """
        ...

    async def close(self) -> None:
        """Leaves the connection; what this receiver had not taken goes to the others."""
        ...

    def buffered(self) -> int:
        """Items held here and not yet taken (a payload counts the items it carries)."""
        ...

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) of the connection that this side knows of."""
        ...


class Verifier:
    """Checks frames where they arrive: a frame that fails is dropped and counted, never kept.

    Every receive transport owns one and calls `accept(frame)` on each frame as it comes off
    the wire. Only what it returns may be buffered, counted or acted on.
    """

    __slots__ = ("_warned", "codec", "guard", "owner", "rejected")

    def __init__(self, codec: Codec, owner: str = "channel") -> None:
        """Creates a verifier for one receiving end.

        Args:
            codec: The connection's codec (its key decides what verifies).
            owner: Names the receiver in the one log line about dropped frames.
        """
        self.codec = codec
        self.owner = owner
        self.rejected = 0
        self._warned = False
        self.guard = ReplayGuard()
        """Which (sender, sequence) pairs this receiver accepted: replays are dropped."""

    def accept(self, frame: bytes, redelivered: bool = False) -> bytes | None:
        """Returns the payload of a new frame whose envelope verifies, or None (dropped).

        The frame must be sealed for this connection (`Codec.open`) and its (sender,
        sequence) new to this receiver (`ReplayGuard`). A forged frame, a frame of another
        connection and a replayed one are dropped and counted in `rejected`. A frame the
        transport knows it delivers again (`redelivered`) passes the replay check: the
        transport skips what it already handed out.

        Args:
            frame: A frame as it arrived.
            redelivered: The transport knows it delivers this frame again (a broker's
                redelivery after a lost acknowledgement, a claimed pending entry).
        """
        try:
            header, payload = self.codec.open(frame)
        except MessageRejectedError as exc:
            self.drop(exc)
            return None
        if self.guard.admit(header.sender, header.seq, redelivered):
            return payload
        self.drop(f"sequence {header.seq} of its sender was accepted before (a replay)")
        return None

    def accept_items(self, frame: bytes, redelivered: bool = False) -> tuple[bytes, int] | None:
        """Like `accept`, and also returns how many items the frame carries (its header's).

        Transports that count room in items (credits, buffers) use this one: a frame sealed
        by `send_many()` carries several.

        Args:
            frame: A frame as it arrived.
            redelivered: As for `accept`.
        """
        try:
            header, payload = self.codec.open(frame)
        except MessageRejectedError as exc:
            self.drop(exc)
            return None
        if self.guard.admit(header.sender, header.seq, redelivered):
            return payload, max(1, header.items)
        self.drop(f"sequence {header.seq} of its sender was accepted before (a replay)")
        return None

    def drop(self, reason: BaseException | str) -> None:
        """Counts a dropped frame and logs the first one of this receiver.

        Args:
            reason: Why the frame was dropped (an exception or a message), for the log.
        """
        self.rejected += 1
        if not self._warned:
            self._warned = True
            _log.warning(
                "%s dropped a message that failed verification (%s); further drops are "
                "counted in statistics().rejected without logging",
                self.owner,
                reason,
            )


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
        self._check()
        if self._room or self.full(items):
            return False  # waiters first: a frame never overtakes one queued before it
        self._append(frame, items)
        return True

    def _append(self, frame: bytes, items: int) -> None:
        self._frames.append(frame)
        self._weights.append(items)
        self._queued += items
        self._ready.set()

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
        if (max_items <= 0 or max_items >= self._queued) and max_bytes <= 0:
            batch = list(frames)
            frames.clear()
            taken = self._queued
            if not self._by_items:
                self._taken.extend(weights)
            weights.clear()
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
