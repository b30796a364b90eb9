"""`WaitingLine`: senders waiting for room, served in the order they came.

An `Outbox` puts a sender here when its frame does not fit. Whoever frees room wakes the
first in line (`wake_first`); a woken sender whose frame still does not fit keeps its place
at the head, so a heavy frame is not overtaken forever by light ones behind it. A sender
cancelled while waiting passes its wake-up on, so no wake-up is lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

__all__ = ["WaitingLine"]


class WaitingLine:
    """A FIFO of waiting senders, each a future resolved when it is its turn to look."""

    __slots__ = ("futures",)

    def __init__(self) -> None:
        """Creates an empty line."""
        self.futures: deque[asyncio.Future[None]] = deque()
        """The waiting senders' futures, first in line first: empty (falsy) when none waits.

        Read it, never change it (a per-item test costs less than `bool(line)`)."""

    def __bool__(self) -> bool:
        """True while someone waits."""
        return bool(self.futures)

    async def wait_turn(
        self, items: int, has_room: Callable[[int], bool], check: Callable[[], None]
    ) -> None:
        """Waits in line until `has_room(items)` when woken; returns with the room still free.

        Args:
            items: The room the caller needs.
            has_room: Tells whether that many items fit now.
            check: Raises when the caller must stop waiting (closed, failed).

        Raises:
            BaseException: What `check` raises (nothing was queued).
        """
        futures = self.futures
        head = False  # woken without room for all our items: keep the head of the line
        while True:
            fut = asyncio.get_running_loop().create_future()
            if head:
                futures.appendleft(fut)
            else:
                futures.append(fut)
            try:
                await fut
            except BaseException:
                if fut in futures:
                    futures.remove(fut)
                if has_room(1):
                    self.wake_first()  # pass an unused wake-up on to the next waiter
                raise
            futures.remove(fut)  # woken: the room is ours, the next waiter stays put
            check()
            if has_room(items):
                return  # the caller takes the room before anything else runs
            head = True

    def wake_first(self) -> None:
        """Wakes the first in line (it looks whether its frame fits)."""
        if self.futures:
            fut = self.futures[0]
            if not fut.done():
                fut.set_result(None)

    def wake_all(self) -> None:
        """Wakes everyone in line (the outbox closed or failed: each will raise)."""
        for fut in self.futures:
            if not fut.done():
                fut.set_result(None)
