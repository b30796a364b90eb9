"""`Flushes`: the senders' flushes due at the event loop's next turn, which a receiver may run now.

A sender batches what its producer queues without yielding: the first `send()` ships its item
at once and schedules a flush for the loop's next turn, and the items queued until then leave
together in that flush (`connector_zmq.sender`). Every sender of a loop schedules its flush
here, in one list per loop with one loop callback for all of them.

A receiver that finds nothing to take and is about to wait runs the loop's due flushes first
(`run`), as the loop would in its next turn. That matters when one task both sends and
receives (a request and its reply, an agent's loop over inproc): its second `send()` finds
the first one's flush still due and queues its item behind it, then its `recv()` would wait a
turn of the loop for the flush. Running it early lets a lone item cross without that turn;
when it would have run anyway, nothing changes, and the loop's callback then finds nothing due.

A flush that raises is reported to the loop's exception handler, as a loop callback would
be, never to the receiver that ran it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

__all__ = ["Flushes", "flushes_of"]

_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Flushes] = (
    weakref.WeakKeyDictionary()
)


def flushes_of(loop: asyncio.AbstractEventLoop) -> Flushes:
    """The due flushes of `loop` (made on first use; each loop has one, used in its thread)."""
    flushes = _by_loop.get(loop)
    if flushes is None:
        flushes = _by_loop[loop] = Flushes(loop)
    return flushes


class Flushes:
    """Flushes due at the next turn of one event loop, in the order they were added."""

    __slots__ = ("__weakref__", "_due", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # weakly: `_by_loop` holds this strongly, and would otherwise keep `loop` forever
        self._loop = weakref.ref(loop)
        self._due: list[Callable[[], None]] = []
        self._scheduled = False  # the loop callback is pending (also after an early `run`)

    def add(self, flush: Callable[[], None]) -> None:
        """Runs `flush` at the loop's next turn, or earlier if a receiver calls `run`."""
        if not self._scheduled:  # one loop callback per turn, however often `run` came first
            loop = self._loop()
            if loop is None:  # pragma: no cover - a sender outlived its loop: nothing runs it
                return
            self._scheduled = True
            loop.call_soon(self._at_next_turn)
        self._due.append(flush)

    def _at_next_turn(self) -> None:
        self._scheduled = False
        self.run()

    def run(self) -> bool:
        """Runs every due flush now, in order.

        Returns:
            Whether any was due.
        """
        due = self._due
        if not due:
            return False
        self._due = []
        for flush in due:
            try:
                flush()
            except Exception as exc:
                loop = self._loop()
                if loop is None:  # pragma: no cover - receivers run it on its loop
                    raise
                loop.call_exception_handler(
                    {"message": "a connector-zmq sender's flush failed", "exception": exc}
                )
        return True
