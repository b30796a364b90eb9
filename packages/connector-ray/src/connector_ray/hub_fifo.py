"""`FrameFifo`: the frames one FIFO of a hub holds, in order, with the items each carries.

`connector_ray.hub.ChannelHub` keeps one shared `FrameFifo` for a pipeline and one per
subscriber for pubsub. The hub cannot open a frame, so every frame is stored beside the count
of items its caller stated; `items` is their total, what backpressure compares with `maxsize`.
"""

from __future__ import annotations

from collections import deque

__all__ = ["FrameFifo"]


class FrameFifo:
    """Frames in order, with the items each carries and their total."""

    __slots__ = ("counts", "frames", "items")

    def __init__(self) -> None:
        self.frames: deque[bytes] = deque()
        self.counts: deque[int] = deque()
        self.items = 0

    def extend(self, frames: list[bytes], counts: list[int]) -> None:
        """Appends frames at the back.

        Args:
            frames: The frames, in order.
            counts: The items of each frame.
        """
        self.frames.extend(frames)
        self.counts.extend(counts)
        self.items += sum(counts)

    def push_front(self, frames: list[bytes], counts: list[int]) -> None:
        """Puts frames back at the front, in their order (frames a receiver had not taken).

        Args:
            frames: The frames, in order.
            counts: The items of each frame.
        """
        self.frames.extendleft(reversed(frames))
        self.counts.extendleft(reversed(counts))
        self.items += sum(counts)

    def take(self, limit: int) -> list[bytes]:
        """Frames off the front: at least one, then while they total at most `limit` items.

        Args:
            limit: The most items to take (`<= 0`: all), unless the first frame alone has more.
        """
        frames, counts = self.frames, self.counts
        taken: list[bytes] = []
        items = 0
        while frames and (not taken or limit <= 0 or items + counts[0] <= limit):
            items += counts.popleft()
            taken.append(frames.popleft())
        self.items -= items
        return taken
