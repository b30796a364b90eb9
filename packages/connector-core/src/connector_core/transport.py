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
room"; defined in `connector_core.outbox` and importable from here). An `Outbox` batches only
while its transport is busy: the flusher takes everything queued the moment it is free, so a
lone frame leaves at once and a burst leaves in batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from connector_core.codec import Codec, MessageRejectedError
from connector_core.envelope import ReplayGuard
from connector_core.outbox import Outbox
from connector_core.payload import Buffer, Payload, PayloadError, WithBuffers, with_buffers

__all__ = [
    "BufferSender",
    "ControlRejections",
    "HoldsTaken",
    "ItemSender",
    "Outbox",
    "RecvTransport",
    "SendTransport",
    "SizeLimited",
    "Verifier",
]

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
class ItemSender(Protocol):
    """A send transport that also takes items unsealed, and seals them in runs as it sends.

    The channel hands it each `send()`'s item serialized (`Codec.dumps_item`) and gives it
    the sealer, once, before the first item. Items queued while the transport is busy leave
    together, sealed as one frame: one signature per run instead of one per item. A
    transport that has an `Outbox` gets this from it (`Outbox.seal_runs_with`,
    `offer_item`, `put_item`).
    """

    def seal_runs_with(self, seal: Callable[[list[bytes]], bytes]) -> None:
        """Keeps `seal` (serialized items in, one sealed frame out) for the runs it sends."""
        ...

    def try_send_item(self, payload: bytes) -> bool:
        """Takes one serialized item now if there is room; False when full."""
        ...

    async def send_item(self, payload: bytes) -> None:
        """Takes one serialized item, waiting for room; if cancelled, took nothing."""
        ...


@runtime_checkable
class BufferSender(Protocol):
    """A send transport that also carries an item's large buffers beside its frame.

    With the pickle serializer, `send()` then pickles an item with its large buffers out of
    band (`connector_core.buffers`) and hands it over sealed as one frame (`WithBuffers`):
    the transport sends the frame and then each buffer as further parts, never joining or
    copying them. It is one item for room and credits, and it keeps its place in line
    behind what was queued before it.
    """

    def try_send_buffers(self, frame: WithBuffers) -> bool:
        """Takes the frame and its buffers now if there is room; False when full."""
        ...

    async def send_buffers(self, frame: WithBuffers) -> None:
        """Takes the frame and its buffers, waiting for room; if cancelled, took nothing."""
        ...


@runtime_checkable
class ControlRejections(Protocol):
    """A transport that also verifies its backend's own control messages (a control log).

    What it dropped there counts in the channel's `statistics().rejected`, beside the data
    frames its `Verifier` dropped, on a sending channel as on a receiving one.
    """

    def control_rejected(self) -> int:
        """Control messages (entries, markers) dropped so far as failing verification."""
        ...


@runtime_checkable
class HoldsTaken(Protocol):
    """A receive transport that keeps a place for a frame until its items are returned.

    A frame of several items (`send_many()`) is decoded by the channel, which returns its
    items one `recv()` at a time; a transport whose flow control counts them (a broker's
    prefetch window) keeps their place meanwhile. The channel calls `returned()` as soon
    as it has returned every item it took, so that place is freed then, not at the next
    `try_recv()`, which may never come: a receiver that has every item and waits.
    """

    def returned(self) -> None:
        """The channel has returned every item of the frames it took."""
        ...


@runtime_checkable
class SizeLimited(Protocol):
    """A send transport with a largest frame, which it can check before it takes any.

    `send_many()` checks every frame of the call first, so an item too large for the
    transport fails the call with nothing sent, not after the frames before it left.
    """

    def check_size(self, frame: int, items: int = 1) -> None:
        """Raises `ChannelSerializationError` if a frame of `frame` bytes is too large.

        `items` is how many items the frame carries (for the message).
        """
        ...


@runtime_checkable
class RecvTransport(Protocol):
    """The receiving side of a backend: yields verified payloads until the end."""

    verifier: Verifier

    def try_recv(self) -> Payload | None:
        """The next verified payload if one is here now (never waits), else None."""
        ...

    async def recv(self) -> Payload:
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

    def accept(self, frame: Buffer, redelivered: bool = False) -> Payload | None:
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
        accepted = self.accept_items(frame, redelivered)
        return None if accepted is None else accepted[0]

    def accept_items(
        self, frame: Buffer, redelivered: bool = False, lent: Sequence[Buffer] | None = None
    ) -> tuple[Payload, int] | None:
        """Like `accept`, and also returns how many items the frame carries (its header's).

        Transports that count room in items (credits, buffers) use this one: a frame sealed
        by `send_many()` carries several.

        Args:
            frame: A frame as it arrived.
            redelivered: As for `accept`.
            lent: Optional; the buffers that arrived beside the frame (a `BufferSender`'s
                parts): its tag must cover them, and they must be as many and as long as
                its signed table says. The payload returned then holds them (`WithBuffers`).
        """
        try:
            if lent is None:
                header, payload = self.codec.open(frame)
            else:
                header, payload = self.codec.open(frame, lent)
                payload = with_buffers(payload, lent)
        except (MessageRejectedError, PayloadError) as exc:
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
