"""`FrameFifo`: the frames one FIFO of a hub holds, in order, with the items each carries.

`connector_ray.hub.ChannelHub` keeps one shared `FrameFifo` for a pipeline and one per
subscriber for pubsub. The hub cannot open a frame, so every frame is stored beside the count
of items its caller stated; `items` is their total, what backpressure compares with `maxsize`.
A frame is `bytes`, or a `RefEntry` standing for a large frame left in Ray's object store
(`connector_ray.large`): it weighs its items like any other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from connector_ray.hub_protocol import Entry, RefEntry

__all__ = ["FrameFifo", "held"]


class FrameFifo:
    """Frames in order, with the items each carries and their total."""

    __slots__ = ("counts", "frames", "items")

    def __init__(self) -> None:
        self.frames: deque[Entry] = deque()
        self.counts: deque[int] = deque()
        self.items = 0

    def extend(self, frames: Sequence[Entry], counts: list[int]) -> None:
        """Appends frames at the back.

        Args:
            frames: The frames, in order.
            counts: The items of each frame.
        """
        self.frames.extend(frames)
        self.counts.extend(counts)
        self.items += sum(counts)

    def push_front(self, frames: Sequence[Entry], counts: list[int]) -> None:
        """Puts frames back at the front, in their order (frames a receiver had not taken).

        Args:
            frames: The frames, in order.
            counts: The items of each frame.
        """
        self.frames.extendleft(reversed(frames))
        self.counts.extendleft(reversed(counts))
        self.items += sum(counts)

    def take(self, limit: int) -> list[Entry]:
        """Frames off the front: at least one, then while they total at most `limit` items.

        Args:
            limit: The most items to take (`<= 0`: all), unless the first frame alone has more.
        """
        frames, counts = self.frames, self.counts
        taken: list[Entry] = []
        items = 0
        while frames and (not taken or limit <= 0 or items + counts[0] <= limit):
            items += counts.popleft()
            taken.append(frames.popleft())
        self.items -= items
        return taken

    def refs_of(self, sender: int) -> list[RefEntry]:
        """The large-frame entries of one sender held here, in order.

        Args:
            sender: The id of the sender that put them.
        """
        return [f for f in self.frames if type(f) is RefEntry and f.sender == sender]

    def replace(self, inline: Mapping[int, bytes]) -> None:
        """Puts frames in the place of the entries they stand for, keeping order and counts.

        Args:
            inline: Frames by the `id()` of the `RefEntry` each replaces.
        """
        self.frames = deque(inline.get(id(f), f) for f in self.frames)


def held(fifos: list[FrameFifo]) -> dict[str, int]:
    """What the fullest of a hub's FIFOs holds, for its statistics.

    Args:
        fifos: The hub's FIFOs.

    Returns:
        The most items (`buffered`), large-frame entries (`refs`) and bytes of frames held
        inline (`inline_bytes`) any one of them holds.
    """
    most = {"buffered": 0, "refs": 0, "inline_bytes": 0}
    for fifo in fifos:
        refs = sum(1 for f in fifo.frames if type(f) is RefEntry)
        inline = sum(len(f) for f in fifo.frames if type(f) is bytes)
        for key, value in (("buffered", fifo.items), ("refs", refs), ("inline_bytes", inline)):
            most[key] = max(most[key], value)
    return most
