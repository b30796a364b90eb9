"""Large-frame entries in a hub: which receivers are fetching whose, and a closing sender's.

A `RefEntry` stands in a hub's FIFO for a large frame that stays in Ray's object store
(`connector_ray.large`). Its object is owned by the process of the sender that put it: Ray
frees an object once its owner has exited, and Ray 2.56 removed the way to name another owner
(`ray.put(_owner=...)`). So the hub looks after a sender's entries when it closes
(`connector_ray.hub.ChannelHub.close_sender`):

- `hand_over` fetches the frames of the entries it still queues and puts them inline in
  their place (same order, same counts): only then does the hub hold those payloads;
- `RefLedger` knows which receivers were handed entries of which senders and have not yet
  fetched them (a receiver says it has with `fetched`, or by its next `get`, its close or its
  end); the close waits until none is out, at most `LENT_WAIT` seconds (a receiver that died
  with them never says so).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable, Sequence
from typing import Final

from connector_ray.hub_fifo import FrameFifo
from connector_ray.hub_protocol import Entry, RefEntry

__all__ = ["LENT_WAIT", "RefLedger", "as_frame", "fetch_all", "hand_over", "stamped"]

LENT_WAIT: Final = 10.0
"""Most seconds a closing sender waits for receivers to fetch the entries they were handed."""


def stamped(frames: Sequence[Entry], sender: int) -> Sequence[Entry]:
    """The frames of a `put`, each large-frame entry marked with the sender that put it.

    Args:
        frames: The frames, as the sender gave them.
        sender: Its id.
    """
    if all(type(f) is bytes for f in frames):
        return frames
    return [f._replace(sender=sender) if type(f) is RefEntry else f for f in frames]


class RefLedger:
    """Which senders' large-frame entries each receiver was handed and has not yet fetched."""

    __slots__ = ("_lent",)

    def __init__(self) -> None:
        self._lent: dict[int, set[int]] = {}

    def lend(self, receiver: int, frames: Iterable[Entry]) -> None:
        """Notes the entries among the frames just handed to a receiver (its earlier are settled).

        Args:
            receiver: The receiver's id.
            frames: What the hub handed it.
        """
        senders = {f.sender for f in frames if type(f) is RefEntry}
        if senders:
            self._lent[receiver] = senders
        else:
            self._lent.pop(receiver, None)

    def settle(self, receiver: int) -> bool:
        """Notes that a receiver fetched what it was handed; True if it had entries out.

        Args:
            receiver: The receiver's id.
        """
        return self._lent.pop(receiver, None) is not None

    def lent_from(self, sender: int) -> bool:
        """True while a receiver has not fetched an entry of this sender it was handed.

        Args:
            sender: The sender's id.
        """
        return any(sender in senders for senders in self._lent.values())

    async def wait_fetched(self, changed: asyncio.Condition, sender: int) -> None:
        """Waits until no receiver has an entry of this sender out, at most `LENT_WAIT` s.

        Args:
            changed: The hub's condition, notified when a receiver settles.
            sender: The closing sender's id.
        """
        if not self.lent_from(sender):
            return  # without a wait: nothing else gets a turn in the middle of the close
        async with changed:
            with contextlib.suppress(TimeoutError):
                done = changed.wait_for(lambda: not self.lent_from(sender))
                await asyncio.wait_for(done, LENT_WAIT)

    def fetching(self) -> int:
        """Receivers that were handed entries and have not said they fetched them."""
        return len(self._lent)


def as_frame(value: object) -> bytes | memoryview | None:
    """A fetched large frame as bytes to read: `bytes` as is, a buffer as a flat byte view.

    None for anything else (an object that is not bytes, or a buffer of other items).

    Args:
        value: What fetching an entry's object gave.
    """
    if type(value) is bytes:
        return value
    try:
        view = memoryview(value)  # type: ignore[arg-type]  # Ray's buffer of the stored frame
    except TypeError:
        return None
    if view.format != "B" or view.ndim != 1:
        view.release()
        return None
    return view


async def _fetch(ref: Awaitable[object]) -> object:
    try:
        return await ref
    except Exception as exc:  # a lost object, its owner gone, a failed deserialization
        return exc


async def fetch_all(refs: Iterable[Awaitable[object]]) -> list[object]:
    """Fetches objects concurrently: each one's value, or the exception fetching it raised.

    Each is awaited in a coroutine of its own: `asyncio.gather` given the `ObjectRef`s
    themselves keeps them (and so their objects) alive until a garbage collection.

    Args:
        refs: The `ObjectRef`s.
    """
    return list(await asyncio.gather(*(_fetch(ref) for ref in refs)))


async def hand_over(fifos: list[FrameFifo], sender: int) -> int:
    """Puts the frames of a sender's queued entries inline, in their place.

    An entry taken by a receiver while the frames are fetched stays the receiver's; one whose
    object cannot be fetched stays queued as it is (its receiver will drop it).

    Args:
        fifos: The hub's FIFOs.
        sender: The id of the closing sender.

    Returns:
        How many entries were replaced by their frames.
    """
    entries = {id(e): e for fifo in fifos for e in fifo.refs_of(sender)}
    if not entries:
        return 0
    fetched = await fetch_all(e.ref for e in entries.values())
    pairs = zip(entries, fetched, strict=True)
    inline = {key: bytes(view) for key, frame in pairs if (view := as_frame(frame)) is not None}
    if inline:
        for fifo in fifos:
            fifo.replace(inline)
    return len(inline)
