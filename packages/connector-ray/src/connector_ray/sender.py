"""`RaySender`: the send transport of a `RayChannel`, an outbox shipped to the hub in batches.

`send()` puts the signed frame into core's `Outbox` and returns; one flusher task ships what
is queued in `put` calls of up to `batch` frames, one call in flight, so batches form only
while a call is in flight (no timer: a lone frame leaves at once). The outbox holds at most
`min(2 * batch, maxsize)` frames (then `send()` waits), and `put` waits at the hub while it
holds `maxsize`: a slow receiver slows the sender. The hub may accept only the front of a
batch; the rest leaves first in the next call.

Close: the flusher stops (a `put` waiting at a full hub is woken by `abort_put`), and what
the hub did not accept goes with `close_sender`, which may overshoot `maxsize` so that closing
never waits on a stalled receiver. The last sender's close ends the connection. If the hub
dies, the next `send()` raises `ChannelError` and `close()` says how much was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.transport import Outbox
from connector_ray import runtime
from connector_ray.hub import ABORTED, NO_RECEIVERS, OK
from connector_ray.link import HubLink, Member

__all__ = ["RaySender"]

_log = logging.getLogger("connector_ray")


class RaySender:
    """Implements `connector_core.transport.SendTransport` for the sender of `link`."""

    def __init__(self, link: HubLink, batch: int, maxsize: int) -> None:
        """Creates the transport of the sender registered in `link`.

        Args:
            link: The connection's hub (its `sender` is this one; a standalone link's is
                known at first use).
            batch: The most frames per `put` call.
            maxsize: The channel's capacity (`<= 0`: unbounded).
        """
        self._link = link
        self._batch = batch
        self._outbox = Outbox(min(2 * batch, maxsize) if maxsize > 0 else 2 * batch)
        self._flusher: asyncio.Task[None] | None = None
        self._unsent: list[bytes] = []  # taken from the outbox, not yet accepted by the hub
        self._putting = False
        self._closed = False

    def try_send(self, frame: bytes) -> bool:
        """Queues `frame` if the outbox has room (False before the first `send()`)."""
        return self._flusher is not None and self._outbox.offer(frame)

    async def send(self, frame: bytes) -> None:
        """Queues `frame`, waiting for room; links and starts the flusher on first use.

        Raises:
            ChannelClosedError: If the channel was closed, also while waiting, or every
                receiver of the pipeline has closed and its buffer is full.
            ChannelError: If the hub actor is gone or lost this sender.
        """
        if self._flusher is None:
            handle = await self._link.connect()
            if self._closed:
                raise ChannelClosedError("the channel was closed while sending")
            member = self._link.sender
            if self._flusher is None and member is not None:
                self._flusher = asyncio.get_running_loop().create_task(self._flush(handle, member))
        await self._outbox.put(frame)

    async def _flush(self, handle: Any, member: Member) -> None:
        outbox = self._outbox
        unsent = self._unsent
        try:
            while not self._closed:
                if not unsent:
                    await outbox.ready()
                if len(unsent) < self._batch:
                    unsent += outbox.take(self._batch - len(unsent))
                self._putting = True
                try:
                    reply = await runtime.call("send", handle.put.remote(*member, unsent))
                finally:
                    self._putting = False
                self._link.note(reply)
                if reply.status == OK:
                    del unsent[: reply.accepted]
                    outbox.settle(reply.accepted)
                elif reply.status == ABORTED:
                    return
                elif reply.status == NO_RECEIVERS:
                    raise ChannelClosedError(
                        "every receiver of this pipeline has closed and its buffer is full: "
                        "nothing will take these items"
                    )
                else:
                    raise runtime.lost_state(reply)
        except ChannelError as exc:
            outbox.fail(exc)
        except Exception as exc:  # pragma: no cover - anything else Ray may raise
            outbox.fail(ChannelError(f"sending through Ray failed: {exc!r}"))

    async def close(self) -> None:
        """Hands what is held to the hub and unregisters this sender.

        Raises:
            ChannelError: If the hub actor is gone and frames were still held (they are lost).
        """
        if self._closed:
            return
        self._closed = True
        self._outbox.close()
        handle, member = self._link.handle, self._link.sender
        if handle is None or member is None:
            self._link.end_unused()  # a standalone channel closed before its first use
            return
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            if self._putting:  # wake a put waiting at a full hub
                with contextlib.suppress(ChannelError):  # the flusher fails too, and says why
                    await runtime.call("close", handle.abort_put.remote(*member))
            else:
                flusher.cancel()  # idle, waiting for frames: it holds none
            await asyncio.wait([flusher])
        rest = self._unsent + self._outbox.take()
        self._unsent.clear()
        self._outbox.settle(len(rest))
        try:
            reply = await runtime.call("close", handle.close_sender.remote(*member, rest))
        except ChannelError as exc:
            if rest:
                raise ChannelError(f"{len(rest)} messages were not delivered: {exc}") from exc
            _log.debug("connector_ray: closing a sender of a gone hub: %s", exc)
            return
        self._link.note(reply)

    def buffered(self) -> int:
        """Frames in the outbox, including those of a `put` in flight."""
        return len(self._outbox)

    def peer_counts(self) -> tuple[int, int]:
        """The hub's last counts, with this sender counted while it is open."""
        senders, receivers = self._link.counts
        return (senders if self._closed else max(senders, 1), receivers)
