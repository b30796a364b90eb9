"""`ChannelHub`: the state of one connection, run as one named Ray actor per connector.

Everything that must be shared by the senders and receivers of a connection lives here, in
one async actor: the buffers, the count of open senders and receivers, and the end-of-stream
flag. Channels talk to it in batches (`put` a list of frames, `get` up to n frames), so one
actor call carries many messages.

- Pipeline: one shared FIFO; each `get` takes frames off its front (competing receivers).
- Pubsub: one FIFO per subscriber, created by `register` before `connect_recv()` returns;
  `put` appends every frame to every subscriber's FIFO.

Backpressure is enforced here: `put` waits while the FIFO (pubsub: the fullest subscriber
FIFO) holds `maxsize` frames, then accepts as many frames as fit and returns that count; the
sender keeps the rest. Only a sender's final flush in `close_sender` may overshoot `maxsize`,
by at most one sender batch, so that closing never waits on a stalled receiver.

Close: when the last open sender closes, the connection has *ended*. A receiver whose FIFO is
drained then gets `END` from `get` and counts as finished. When every sender and receiver
that connected has closed or finished, the reply says `release`: the caller kills this actor
(`ray.kill`), so nothing outlives the connection.

This module imports no Ray: the class is wrapped with `ray.remote` by `connector_ray.runtime`,
which keeps it testable and lets it be read on its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final, NamedTuple

__all__ = [
    "ABORTED",
    "END",
    "ENDED",
    "NO_RECEIVERS",
    "OK",
    "RECV",
    "RELEASED",
    "SEND",
    "UNKNOWN",
    "ChannelHub",
    "Reply",
]

SEND: Final = "send"
RECV: Final = "recv"

OK: Final = "ok"
"""The call did what was asked."""
END: Final = "end"
"""`get`: every sender has closed and this receiver's FIFO is drained."""
ABORTED: Final = "aborted"
"""`put`/`get`: woken early because the caller's channel is closing."""
NO_RECEIVERS: Final = "no-receivers"
"""`put`: the pipeline is full and every receiver has closed; nothing will take the frames."""
ENDED: Final = "ended"
"""`register`: a sender may not join a connection whose senders have all closed."""
RELEASED: Final = "released"
"""`register`: the connection is over and this actor is about to be killed."""
UNKNOWN: Final = "unknown"
"""The caller's id is not known here: the actor lost its state (it was restarted)."""


class Reply(NamedTuple):
    """What every hub call returns."""

    status: str
    """One of the status constants of this module."""
    frames: list[bytes]
    """`get`: the frames handed out (they are the caller's from now on)."""
    accepted: int
    """`put`: how many frames from the front of the batch were accepted."""
    ident: int
    """`register`: the caller's sender or receiver id."""
    senders: int
    """Open senders now."""
    receivers: int
    """Open receivers now."""
    release: bool
    """True once, to the caller whose call ended the connection: it must kill this actor."""


class _Receiver:
    __slots__ = ("aborted", "fifo", "finished")

    def __init__(self, fifo: deque[bytes]) -> None:
        self.fifo = fifo
        self.finished = False
        self.aborted = False


class ChannelHub:
    """The buffers and counters of one connection (see the module docstring)."""

    def __init__(self, pubsub: bool, maxsize: int) -> None:
        """Creates an empty hub.

        Args:
            pubsub: True for pubsub (a FIFO per subscriber), False for a pipeline.
            maxsize: Frames a FIFO may hold before `put` waits (`<= 0`: unbounded).
        """
        self._pubsub = pubsub
        self._maxsize = maxsize
        self._shared: deque[bytes] = deque()
        self._senders: set[int] = set()
        self._aborting: set[int] = set()
        self._receivers: dict[int, _Receiver] = {}
        self._senders_seen = 0
        self._receivers_seen = 0
        self._next_id = 1
        self._ended = False
        self._released = False
        self._changed: asyncio.Condition | None = None

    # -- helpers ---------------------------------------------------------------------------

    def _cond(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        cond = self._cond()
        async with cond:
            cond.notify_all()

    def _reply(
        self,
        status: str,
        frames: list[bytes] | None = None,
        accepted: int = 0,
        ident: int = 0,
        release: bool = False,
    ) -> Reply:
        return Reply(
            status,
            frames if frames is not None else [],
            accepted,
            ident,
            len(self._senders),
            sum(1 for r in self._receivers.values() if not r.finished),
            release,
        )

    def _fifos(self) -> list[deque[bytes]]:
        if self._pubsub:
            return [r.fifo for r in self._receivers.values()]
        return [self._shared]

    def _room(self) -> int:
        """Frames every FIFO can take now (a large number when unbounded)."""
        if self._maxsize <= 0:
            return 1 << 30
        return min((self._maxsize - len(f) for f in self._fifos()), default=1 << 30)

    def _should_release(self) -> bool:
        if self._released or self._senders:
            return False
        if any(not r.finished for r in self._receivers.values()):
            return False
        if not self._senders_seen and not self._receivers_seen:
            return False
        # Pipeline frames that no receiver ever came for wait for one.
        return self._pubsub or not self._shared or self._receivers_seen > 0

    def _maybe_release(self) -> bool:
        if self._should_release():
            self._released = True
            return True
        return False

    # -- calls -----------------------------------------------------------------------------

    async def register(self, role: str) -> Reply:
        """Adds one sender or receiver; a pubsub receiver gets its FIFO now.

        Args:
            role: `SEND` or `RECV`.

        Returns:
            `OK` with the new id, `ENDED` for a sender joining an ended connection, or
            `RELEASED` if the connection is over.

        Raises:
            ValueError: If `role` is neither `SEND` nor `RECV`.
        """
        if self._released:
            return self._reply(RELEASED)
        ident = self._next_id
        if role == SEND:
            if self._ended:
                return self._reply(ENDED)
            self._senders.add(ident)
            self._senders_seen += 1
        elif role == RECV:
            fifo: deque[bytes] = deque() if self._pubsub else self._shared
            self._receivers[ident] = _Receiver(fifo)
            self._receivers_seen += 1
        else:
            raise ValueError(f"role must be {SEND!r} or {RECV!r}, got {role!r}")
        self._next_id += 1
        await self._notify()
        return self._reply(OK, ident=ident)

    async def put(self, sender: int, frames: list[bytes]) -> Reply:
        """Appends frames, waiting while the buffer is full; accepts a prefix that fits.

        Args:
            sender: The sender's id.
            frames: The frames, in order.

        Returns:
            `OK` with `accepted` (at least 1 unless `frames` is empty), `ABORTED` if the
            sender started closing while this waited, `NO_RECEIVERS` if the pipeline is full
            and every receiver closed, `UNKNOWN` if `sender` is not registered here.
        """
        if sender not in self._senders:
            return self._reply(UNKNOWN)
        cond = self._cond()
        async with cond:
            while True:
                if sender in self._aborting:
                    return self._reply(ABORTED)
                room = self._room()
                if room > 0:
                    break
                if not self._pubsub and self._receivers_seen and not self._receivers:
                    return self._reply(NO_RECEIVERS)
                await cond.wait()
            accepted = frames[:room] if room < len(frames) else frames
            for fifo in self._fifos():
                fifo.extend(accepted)
            cond.notify_all()
        return self._reply(OK, accepted=len(accepted))

    async def get(self, receiver: int, limit: int) -> Reply:
        """Takes up to `limit` frames for a receiver, waiting while there are none.

        Args:
            receiver: The receiver's id.
            limit: The most frames to hand out.

        Returns:
            `OK` with frames, `END` when every sender closed and the FIFO is drained,
            `ABORTED` if the receiver started closing, `UNKNOWN` if it is not registered.
        """
        state = self._receivers.get(receiver)
        if state is None:
            return self._reply(UNKNOWN)
        cond = self._cond()
        async with cond:
            fifo = state.fifo
            while not fifo:
                if state.aborted:
                    return self._reply(ABORTED)
                if self._ended:
                    state.finished = True
                    return self._reply(END, release=self._maybe_release())
                await cond.wait()
            count = min(limit, len(fifo)) if limit > 0 else len(fifo)
            frames = [fifo.popleft() for _ in range(count)]
            cond.notify_all()
        return self._reply(OK, frames=frames)

    async def abort_put(self, sender: int) -> Reply:
        """Wakes the sender's waiting `put`, which returns `ABORTED` (its channel is closing)."""
        if sender in self._senders:
            self._aborting.add(sender)
            await self._notify()
        return self._reply(OK)

    async def abort_get(self, receiver: int) -> Reply:
        """Wakes the receiver's waiting `get`, which returns `ABORTED` (its channel is closing)."""
        state = self._receivers.get(receiver)
        if state is not None:
            state.aborted = True
            await self._notify()
        return self._reply(OK)

    async def close_sender(self, sender: int, frames: list[bytes]) -> Reply:
        """Appends a closing sender's last frames (even beyond `maxsize`) and removes it.

        The last sender to close ends the connection.
        """
        if sender not in self._senders:
            return self._reply(UNKNOWN)
        if frames:
            for fifo in self._fifos():
                fifo.extend(frames)
        self._senders.discard(sender)
        self._aborting.discard(sender)
        if not self._senders:
            self._ended = True
        await self._notify()
        return self._reply(OK, release=self._maybe_release())

    async def close_receiver(self, receiver: int, frames: list[bytes]) -> Reply:
        """Removes a receiver; in a pipeline its untaken `frames` go back to the front."""
        state = self._receivers.pop(receiver, None)
        if state is None:
            return self._reply(UNKNOWN, release=self._maybe_release())
        if frames and not self._pubsub:
            self._shared.extendleft(reversed(frames))
        await self._notify()
        return self._reply(OK, release=self._maybe_release())

    async def status(self) -> dict[str, int | bool]:
        """Returns the hub's counters (for tests and diagnostics)."""
        return {
            "senders": len(self._senders),
            "receivers": len(self._receivers),
            "buffered": max((len(f) for f in self._fifos()), default=0),
            "ended": self._ended,
            "released": self._released,
        }
