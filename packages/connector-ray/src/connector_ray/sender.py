"""`RaySender`: the send transport of a `RayChannel`, an outbox shipped to the hub in batches.

`send()` puts the signed frame into core's `Outbox` and returns; one flusher task ships what
is queued in `put` calls of frames carrying up to `batch` items, one call in flight, so
batches form only while a call is in flight (no timer: a lone frame leaves at once).
Everything is counted in items: a frame sealed by `send_many()` carries up to `batch_items`
(= `batch`, at most `maxsize`) and weighs that many. The outbox holds at most
`min(2 * batch, maxsize)` items (then `send()` waits), and each `put` states every frame's
item count beside it; the hub accepts a frame only when its items fit in `maxsize`: a slow
receiver slows the sender. The hub may accept only the front of a batch, in whole frames;
the rest leaves first in the next call. `send()`'s items come serialized and unsealed (core's
`ItemSender`): those queued while a call is in flight form a run, sealed as one frame (one
signature) when the flusher takes it; an item large enough for the object store is sealed
alone at once and stored like a frame.

Large frames (at least `large_frame_bytes`, on a connection that signs): `send()` stores
each in Ray's object store (in a worker thread, so the event loop goes on meanwhile) before
it queues it, and the flusher ships the `RefEntry` in its place (`connector_ray.large`); the
hub counts its items like any frame's. This sender's process owns those objects, and its
`close_sender` returns once the hub has taken over the ones it still queues.

Close: the flusher stops (a `put` waiting at a full hub is woken by `abort_put`), and what
the hub did not accept goes with `close_sender`, which may overshoot `maxsize` so that closing
never waits on a stalled receiver. The last sender's close ends the connection. If the hub
dies, the next `send()` raises `ChannelError` and `close()` says how much was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.sealer import ITEM_OVERHEAD
from connector_core.transport import Outbox
from connector_ray import runtime
from connector_ray.hub_protocol import Entry, RefEntry, Status
from connector_ray.large import LargeFrames
from connector_ray.link import HubLink, Member

__all__ = ["RaySender"]

_log = logging.getLogger("connector_ray")


class RaySender:
    """Implements `connector_core.transport.SendTransport` for the sender of `link`."""

    def __init__(
        self, link: HubLink, batch: int, maxsize: int, large: LargeFrames | None = None
    ) -> None:
        """Creates the transport of the sender registered in `link`.

        Args:
            link: The connection's hub (its `sender` is this one; a standalone link's is
                known at first use).
            batch: The most items per `put` call, and per frame (`batch_items`); at most
                a positive `maxsize`.
            maxsize: The channel's capacity in items (`<= 0`: unbounded).
            large: Optional; which frames go through the object store (default: none).
        """
        self._link = link
        self._batch = batch
        self.batch_items = batch
        """The most items one frame may carry: a frame always fits in one `put` call."""
        self._outbox = Outbox(min(2 * batch, maxsize) if maxsize > 0 else 2 * batch)
        self._flusher: asyncio.Task[None] | None = None
        self._unsent: list[Entry] = []  # taken from the outbox, not yet accepted by the hub
        self._counts: list[int] = []  # the items of each unsent frame
        self._unsent_items = 0
        self._putting = False
        self._closed = False
        self._large = large
        at = large.smallest if large is not None else None
        self._large_at = sys.maxsize if at is None else at  # frames from this size are staged
        self._staged: dict[int, RefEntry] = {}  # by the id() of the queued frame it stands for
        self._seal: Callable[[list[bytes]], bytes] | None = None  # the channel's, for runs

    def seal_runs_with(self, seal: Callable[[list[bytes]], bytes]) -> None:
        """Seals runs of `send()`'s items with `seal` as they are taken (core `ItemSender`)."""
        self._seal = seal
        self._outbox.seal_runs_with(seal, self._batch)

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        """Queues `frame` of `items` items if the outbox has room.

        False before first use, and for a large frame (`send()` stores it first).
        """
        return (
            self._flusher is not None
            and len(frame) < self._large_at
            and self._outbox.offer(frame, max(1, items))
        )

    def try_send_item(self, payload: bytes) -> bool:
        """Queues one serialized item (sealed with its run when taken) if there is room.

        False before first use, and for an item large enough for the object store.
        """
        return (
            self._flusher is not None
            and len(payload) + ITEM_OVERHEAD < self._large_at
            and self._outbox.offer_item(payload)
        )

    async def send(self, frame: bytes, items: int = 1) -> None:
        """Queues `frame` of `items` items, waiting for room; links and starts the flusher.

        A large frame is stored in the object store first (once per frame object queued).

        Raises:
            ChannelClosedError: If the channel was closed, also while waiting, or every
                receiver of the pipeline has closed and its buffer is full.
            ChannelError: If the hub actor is gone or lost this sender.
        """
        await self._start()
        key = id(frame)
        if len(frame) < self._large_at or key in self._staged:
            await self._outbox.put(frame, max(1, items))
            return
        assert self._large is not None  # _large_at is finite
        self._staged[key] = await self._large.stage(frame)
        try:
            await self._outbox.put(frame, max(1, items))
        except BaseException:
            self._staged.pop(key, None)  # not queued: its object goes with the entry
            raise

    async def send_item(self, payload: bytes) -> None:
        """Queues one serialized item, waiting for room (as `send()`).

        An item large enough for the object store is sealed alone at once and sent as a
        frame: it is stored before it is queued.

        Raises:
            ChannelClosedError: As `send()`.
            ChannelError: As `send()`.
        """
        if len(payload) + ITEM_OVERHEAD >= self._large_at and self._seal is not None:
            await self.send(self._seal([payload]))
            return
        await self._start()
        await self._outbox.put_item(payload)

    async def _start(self) -> None:
        """Links to the hub and starts the flusher, on first use."""
        if self._flusher is None:
            handle = await self._link.connect()
            if self._closed:
                raise ChannelClosedError("the channel was closed while sending")
            member = self._link.sender
            if self._flusher is None and member is not None:
                self._flusher = asyncio.get_running_loop().create_task(self._flush(handle, member))

    def _take(self, room: int) -> None:
        """Moves queued frames (runs sealed as they go) to the unsent batch.

        Args:
            room: The most items to move (`<= 0`: every frame); a frame moves whatever it
                carries when none is unsent, and a run is cut to the room.
        """
        outbox, unsent = self._outbox, self._unsent
        if unsent and room > 0 and outbox.first_items() > room:
            return  # the first frame does not fit beside the unsent ones
        start = len(unsent)
        queued = outbox.queued_items()
        unsent += outbox.take(room, counts=self._counts)
        self._unsent_items += queued - outbox.queued_items()
        if self._staged:  # large frames leave as their entries
            for i in range(start, len(unsent)):
                entry = self._staged.pop(id(unsent[i]), None)
                if entry is not None:
                    unsent[i] = entry

    async def _flush(self, handle: Any, member: Member) -> None:
        outbox = self._outbox
        unsent, counts = self._unsent, self._counts
        try:
            while not self._closed:
                if not unsent:
                    await outbox.ready()
                if self._unsent_items < self._batch:
                    self._take(self._batch - self._unsent_items)
                self._putting = True
                try:
                    reply = await runtime.call("send", handle.put.remote(*member, unsent, counts))
                finally:
                    self._putting = False
                self._link.note(reply)
                if reply.status == Status.OK:
                    accepted = reply.accepted
                    self._unsent_items -= sum(counts[:accepted])
                    del unsent[:accepted]
                    del counts[:accepted]
                    outbox.settle(accepted)
                elif reply.status == Status.ABORTED:
                    return
                elif reply.status == Status.NO_RECEIVERS:
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
        self._take(0)
        rest, counts = list(self._unsent), list(self._counts)
        self._unsent.clear()
        self._counts.clear()
        self._unsent_items = 0
        self._outbox.settle(len(rest))
        try:
            reply = await runtime.call("close", handle.close_sender.remote(*member, rest, counts))
        except ChannelError as exc:
            if rest:
                raise ChannelError(f"{sum(counts)} messages were not delivered: {exc}") from exc
            _log.debug("connector_ray: closing a sender of a gone hub: %s", exc)
            return
        self._link.note(reply)

    def buffered(self) -> int:
        """Items in the outbox, including those of a `put` in flight."""
        return len(self._outbox)

    def peer_counts(self) -> tuple[int, int]:
        """The hub's last counts, with this sender counted while it is open."""
        senders, receivers = self._link.counts
        return (senders if self._closed else max(senders, 1), receivers)
