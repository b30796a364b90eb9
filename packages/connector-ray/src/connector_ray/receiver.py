"""`RayReceiver`: the receive transport of a `RayChannel`, an inbox refilled from the hub.

`recv()` serves a local inbox of verified payloads, refilled by one `get` of whole frames
carrying up to `batch` items (at least one frame). That `get` is a task of the transport, not
of the `recv()` that started it: a cancelled `recv()` leaves it running, and its frames land
in the inbox for the next one.

Large frames: a batch may hand out entries for frames left in Ray's object store
(`connector_ray.large`). The fetch task checks each entry's tag, fetches those that check out
(`await ref`, so the event loop goes on) and then tells the hub it has them (`fetched`: their
sender may now exit); an entry that fails either step becomes a `Dropped` in its place.

Verification on arrival: when a batch arrives (its large frames fetched, each a read-only
view of Ray's object store), anything that is not a frame is dropped, then every frame goes
through the `Verifier` (`accept_items`); what
fails is dropped and counted (`statistics().rejected`) before it is buffered. The inbox holds
each verified payload with its frame as it arrived and the item count its verified header
states; `buffered()` counts those items.

End: the hub answers `Status.END` once every sender has closed and this receiver's FIFO is drained;
`recv()` then raises `ChannelClosedError` (the hub has already let this receiver go). Close:
a pipeline receiver gives the frames it did not return back to the front of the hub's FIFO,
with their item counts: first the frame the channel handed back (`give_back`: the items of a
`send_many()` frame it took and did not return), then its inbox as it arrived (a
subscriber's are its own and go); a large frame goes back inline, copied out of the view
the receiver fetched (the process that put it may have exited since). If the hub dies,
`recv()` raises `ChannelError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from connector_core.codec import Codec
from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.payload import Payload
from connector_core.transport import Verifier
from connector_ray import runtime
from connector_ray.hub_protocol import Entry, Reply, Status
from connector_ray.large import Dropped, LargeFrames
from connector_ray.link import HubLink, Member

__all__ = ["RayReceiver"]

_log = logging.getLogger("connector_ray")

_Kept = tuple[Payload, bytes | memoryview, int]
"""What the inbox holds of a verified frame: its payload, the frame, the items it carries."""
_Admitted = tuple[list[_Kept], int]
"""The frames of a batch that verified, and the items they carry."""
_Fetched = tuple[Reply, _Admitted | None]
"""A `get`'s reply, and its frames verified when it had large ones (None: it had none)."""


class RayReceiver:
    """Implements `connector_core.transport.RecvTransport` for the receiver of `link`."""

    def __init__(self, link: HubLink, codec: Codec, batch: int, *, pubsub: bool) -> None:
        """Creates the transport of the receiver registered in `link`.

        Args:
            link: The connection's hub (its `receiver` is this one; a standalone link's is
                known at first use; no handle: the connection had ended).
            codec: The connection's codec (frames are verified with it on arrival).
            batch: The most items per `get` call (in whole frames, at least one).
            pubsub: True for a subscriber (its unread frames are its own).
        """
        self.verifier = Verifier(codec, "RayChannel")
        self._large = LargeFrames(codec)
        self._link = link
        self._batch = batch
        self._pubsub = pubsub
        self._inbox: deque[_Kept] = deque()
        self._inbox_items = 0
        self._given_back: list[tuple[bytes, int]] = []  # (frame, items), from the channel
        self._pending: asyncio.Task[_Fetched] | None = None
        self._ended = False
        self._failure: ChannelError | None = None
        self._closed = False

    def try_recv(self) -> Payload | None:
        """The next verified payload of the inbox, or None."""
        return self._pop() if self._inbox else None

    def _pop(self) -> Payload:
        payload, _, items = self._inbox.popleft()
        self._inbox_items -= items
        return payload

    async def recv(self) -> Payload:
        """Waits for the next verified payload, fetching a batch when the inbox is empty.

        Raises:
            ChannelClosedError: When every sender has closed and all was delivered, or this
                receiver was closed.
            ChannelError: If the hub actor is gone or lost this receiver.
        """
        while True:
            if self._closed:
                raise ChannelClosedError("RayChannel is closed: cannot receive")
            if self._inbox:
                return self._pop()
            failure = self._failure
            if failure is not None:
                raise type(failure)(str(failure)) from failure
            if self._ended:
                raise ChannelClosedError("every sender has closed and all was delivered")
            pending = self._pending or await self._fetch()
            # The fetch belongs to the transport: cancelling this recv() leaves it running
            # and its frames land in the inbox for the next recv().
            await asyncio.wait([pending])
            self._absorb(pending)

    async def _fetch(self) -> asyncio.Task[_Fetched]:
        handle = await self._link.connect()
        if self._pending is not None:  # another recv() started one meanwhile
            return self._pending
        member = self._link.receiver
        assert member is not None  # registered by the connector, or by connect() just now
        task = asyncio.get_running_loop().create_task(self._get(handle, member))
        task.add_done_callback(self._absorb)
        self._pending = task
        return task

    async def _get(self, handle: Any, member: Member) -> _Fetched:
        """One `get`; with large frames, also fetches them (and tells the hub) and verifies.

        Large frames are verified in a worker thread (hashing them lets go of the GIL), so
        the event loop goes on meanwhile: only this task uses the verifier until it is done.
        """
        reply = await runtime.call("receive", handle.get.remote(*member, self._batch))
        frames: list[Entry] = reply.frames
        if reply.status != Status.OK or all(type(f) is bytes for f in frames):
            return reply, None
        resolved = await self._large.resolve(frames)
        told = asyncio.ensure_future(runtime.call("receive", handle.fetched.remote(*member)))
        try:
            return reply, await asyncio.to_thread(self._admit, resolved)
        finally:
            with contextlib.suppress(ChannelError):  # a hub gone meanwhile: the next get says so
                await told

    def _absorb(self, task: asyncio.Task[_Fetched]) -> None:
        """Takes in a finished fetch (once; from its callback or from recv)."""
        if self._pending is not task:
            return
        self._pending = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._failure = (
                exc if isinstance(exc, ChannelError) else ChannelError(f"receive failed: {exc!r}")
            )
            return
        self.arrived(*task.result())

    def arrived(self, reply: Reply, verified: _Admitted | None = None) -> None:
        """Takes in the hub's answer to a `get`: verifies its frames into the inbox.

        Args:
            reply: The hub's answer.
            verified: Optional; its frames as `_get` fetched and verified them (without it,
                they are verified here and a large-frame entry is dropped as a non-frame).
        """
        self._link.note(reply)
        if reply.status == Status.OK:
            kept, items = self._admit(reply.frames) if verified is None else verified
            self._inbox.extend(kept)
            self._inbox_items += items
        elif reply.status == Status.END:
            self._ended = True
        elif reply.status != Status.ABORTED:
            self._failure = runtime.lost_state(reply)

    def _admit(self, frames: Sequence[Entry | memoryview | Dropped]) -> _Admitted:
        """The frames that verify, with their payloads and items; the rest dropped and counted.

        Args:
            frames: A batch as it arrived (`bytes` frames, and the views of fetched large
                ones; anything else is dropped).
        """
        verifier = self.verifier
        accept = verifier.accept_items
        kept: list[_Kept] = []
        total = 0
        for frame in frames:
            if type(frame) is not bytes and type(frame) is not memoryview:  # never decoded
                why = frame.reason if type(frame) is Dropped else None
                verifier.drop(why or f"a {type(frame).__name__} arrived where a frame was due")
                continue
            accepted = accept(frame)
            if accepted is not None:
                payload, items = accepted
                kept.append((payload, frame, items))
                total += items
        return kept, total

    def give_back(self, frame: bytes, items: int) -> None:
        """Keeps a frame of items the channel took and did not return, for `close()`.

        A pipeline receiver hands it back to the hub first, ahead of its inbox; a subscriber
        drops it (what it leaves is its own).
        """
        if not self._pubsub and not self._closed:
            self._given_back.append((frame, max(1, items)))

    async def close(self) -> None:
        """Unregisters; a pipeline receiver's unread frames go back to the other receivers."""
        if self._closed:
            return
        self._closed = True
        handle, member = self._link.handle, self._link.receiver
        if handle is None or member is None or self._ended:
            return  # nothing to leave: never linked, or the hub let it go at the end
        try:
            pending = self._pending
            if pending is not None:
                await runtime.call("close", handle.abort_get.remote(*member))
                await asyncio.wait([pending])
                self._absorb(pending)
            kept = [] if self._pubsub else [(bytes(f), n) for _, f, n in self._inbox]
            kept[:0] = self._given_back
            self._given_back.clear()
            self._inbox.clear()
            self._inbox_items = 0
            rest = [frame for frame, _ in kept]
            counts = [items for _, items in kept]
            ref = handle.close_receiver.remote(*member, rest, counts)
            reply = await runtime.call("close", ref)
        except ChannelError as exc:
            _log.debug("connector_ray: closing a receiver of a gone hub: %s", exc)
            return
        self._link.note(reply)

    def buffered(self) -> int:
        """Items of the verified payloads in the inbox, and of frames given back."""
        return self._inbox_items + sum(items for _, items in self._given_back)

    def peer_counts(self) -> tuple[int, int]:
        """The hub's last counts, with this receiver counted while it is open."""
        senders, receivers = self._link.counts
        return (senders, receivers if self._closed else max(receivers, 1))
