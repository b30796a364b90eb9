"""`RedisSender`: the send transport, from core's `Outbox` to entries of the data stream.

Room is counted in items everywhere: a frame of `send_many()` carrying n items weighs n.
`try_send()`/`send()` queue frames in an `Outbox` of `maxsize` items. A flusher task takes
what is queued whenever it is free (at most `MAX_BATCH_ITEMS` items, and no more than the
room left), seals it as one entry (`connector_redis.entries`) whose `n` field is its item
count, and adds it with the `ADD` script, which refuses while the stream holds `maxsize` items
that a group still needs (`held`, the sum of the `n` of those entries). Items stay counted in
the outbox after they were added, until `held` shows they could have left the stream: so a
sender never has more than `maxsize` items between its `send()` and its receivers. A frame
carries at most `batch_items` items (`MAX_FRAME_ITEMS`, and `maxsize`), so it always fits
(taken alone when it carries more than `MAX_BATCH_ITEMS`).
`send()`'s items come serialized and unsealed (core's `ItemSender`): those queued while the
flusher was busy are sealed as one frame, one signature, when it takes them.
Waiting (for room in the stream, or for what it added to be taken) is a blocking read of
`sig`, woken by the next acknowledgement, bounded by the `block` setting; a sender that waits
longer than the claim idle time drops the groups of subscribers found dead
(`connector_redis.liveness`).

`close()` waits until every queued frame was added, adds the end marker, then `CLOSE` naming
it in the control stream, and cleans up if it was the last party.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final

from connector_core.codec import Codec
from connector_core.exceptions import ChannelClosedError, ChannelError, ChannelSerializationError
from connector_core.framing import pack_frames
from connector_core.sealer import ITEM_OVERHEAD
from connector_core.transport import Outbox
from connector_redis.client import release
from connector_redis.control import ControlLog
from connector_redis.entries import CLOSE, DATA, MARKER, frame_digest, marker_body, seal_entry
from connector_redis.keys import StreamId, parse_id, propose_id
from connector_redis.liveness import reap
from connector_redis.settings import RedisSettings
from connector_redis.store import DEFAULT_LARGEST_VALUE

__all__ = [
    "ENTRY_OVERHEAD",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ITEMS",
    "MAX_FRAME_ITEMS",
    "RedisSender",
    "largest_item",
]

MAX_BATCH_ITEMS: Final = 256
"""Items the flusher packs into one entry at most, from `send()`'s runs. Larger entries (1024
small items, some 100 KB) moved no faster and left the process's memory fragmented: a million
items through pubsub grew its RSS by 64 MB instead of 38 MB (the soak test allows 64)."""
MAX_FRAME_ITEMS: Final = 1024
"""Items one frame of `send_many()` carries at most (it goes alone in its entry): a list of
1000 is one signature and one `XADD`, not four."""
MAX_BATCH_BYTES: Final = 1 << 20
"""Bytes of frames one entry carries at most (one larger frame goes alone)."""
ENTRY_OVERHEAD: Final = 4096
"""Bytes an entry adds to the frames it carries, at most: its tag, header and id, and the
length of each of up to `MAX_BATCH_ITEMS` frames."""


def largest_item(server_limit: int, setting: int | None) -> int:
    """The largest frame one entry may carry, in bytes.

    Args:
        server_limit: The most bytes the server takes in one value (`Store.largest_value`).
        setting: `RedisSettings.max_item_size` (None: unset).
    """
    largest = server_limit - ENTRY_OVERHEAD
    return largest if setting is None else min(largest, setting)


class RedisSender:
    """The send transport of one sender (see the module docstring)."""

    def __init__(
        self,
        log: ControlLog,
        codec: Codec,
        maxsize: int,
        settings: RedisSettings,
        max_item_size: int = DEFAULT_LARGEST_VALUE - ENTRY_OVERHEAD,
    ) -> None:
        """Creates the transport; its flusher starts with the first frame.

        Args:
            log: The sender's control log (its store is the connection's keys).
            codec: The connection's codec (bound to it).
            maxsize: Items between `send()` and the receivers at most (`<= 0`: unbounded).
            settings: The backend's settings (block, claim idle).
            max_item_size: Optional; the largest frame, in bytes, that one entry may carry
                (`largest_item()`); Redis's default limit by default.
        """
        self.max_item_size = max_item_size
        """The largest frame `send()` accepts (`check_size`)."""
        self._largest_payload = max_item_size - ITEM_OVERHEAD  # an item's, unsealed
        self._entry_bytes = min(MAX_BATCH_BYTES, max_item_size)
        self.log = log
        self.store = log.store
        self.codec = codec
        self.maxsize = maxsize
        self.settings = settings
        self.batch_items = min(MAX_FRAME_ITEMS, maxsize) if maxsize > 0 else MAX_FRAME_ITEMS
        """Items one frame of `send_many()` may carry, never more than `maxsize`."""
        self._outbox = Outbox(maxsize, release_by_items=True)
        self._added = 0
        """Items added to the stream and still counted in the outbox."""
        self._blocked = 0
        """`send()` calls waiting for room in the outbox."""
        self._work = asyncio.Event()
        """Set when the flusher has something to look at (a frame, a blocked sender, close)."""
        self._busy = False
        self._last: StreamId = (0, 0)
        self._flusher: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._stopping = False

    # -- SendTransport -----------------------------------------------------------------------

    def seal_runs_with(self, seal: Callable[[list[bytes]], bytes]) -> None:
        """Seals runs of `send()`'s items with `seal` as they are added (core `ItemSender`)."""
        self._outbox.seal_runs_with(seal, self.batch_items)

    def check_size(self, frame: int, items: int = 1) -> None:
        """Refuses a frame larger than one entry holds (core's `SizeLimited`).

        Args:
            frame: The frame's size in bytes (serialized and signed).
            items: Optional; the items it carries.

        Raises:
            ChannelSerializationError: If the frame is larger than `max_item_size`.
        """
        if frame > self.max_item_size:
            what = "the item is" if items <= 1 else f"a batch of {items} items is"
            raise ChannelSerializationError(
                f"{what} {frame} bytes serialized and signed, more than the "
                f"{self.max_item_size} bytes one Redis stream entry carries here (the "
                "server's proto-max-bulk-len, or CONNECTOR_REDIS_MAX_ITEM_SIZE); nothing was "
                "sent: send smaller items, or store large ones elsewhere and send a reference"
            )

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        """Queues `frame` (carrying `items` items) if the outbox has room now (never waits).

        Raises:
            ChannelSerializationError: If the frame is larger than `max_item_size`.
        """
        self.check_size(len(frame), items)
        return self._queued(self._outbox.offer(frame, max(1, items)))

    def try_send_item(self, payload: bytes) -> bool:
        """Queues one serialized item if the outbox has room now (never waits).

        Raises:
            ChannelSerializationError: If the item, sealed, is larger than `max_item_size`.
        """
        if len(payload) > self._largest_payload:  # compared here: once per item
            self.check_size(len(payload) + ITEM_OVERHEAD)
        return self._queued(self._outbox.offer_item(payload))

    def _queued(self, queued: bool) -> bool:
        if queued:
            self._wake()
        return queued

    async def send_item(self, payload: bytes) -> None:
        """Queues one serialized item, waiting for room; if cancelled, queued nothing.

        Raises:
            ChannelSerializationError: If the item, sealed, is larger than `max_item_size`.
            ChannelError: If adding to the stream failed (the Redis error is its cause).
        """
        if len(payload) > self._largest_payload:  # compared here: once per item
            self.check_size(len(payload) + ITEM_OVERHEAD)
        await self._wait_queued(self._outbox.put_item(payload))

    async def send(self, frame: bytes, items: int = 1) -> None:
        """Queues `frame` (carrying `items` items), waiting for room; if cancelled, queued nothing.

        Raises:
            ChannelSerializationError: If the frame is larger than `max_item_size`.
            ChannelError: If adding to the stream failed (the Redis error is its cause).
        """
        self.check_size(len(frame), items)
        await self._wait_queued(self._outbox.put(frame, max(1, items)))

    async def _wait_queued(self, put: Coroutine[Any, Any, None]) -> None:
        """Awaits `put` (an outbox put) while the flusher knows a sender waits for room."""
        self._blocked += 1  # the flusher waits for acknowledgements on its behalf
        try:
            self._wake()
            await put
        finally:
            self._blocked -= 1
        self._wake()

    def control_rejected(self) -> int:
        """Control entries and end markers dropped as failing verification.

        Core's `ControlRejections`: they count in the channel's `statistics().rejected`.
        """
        return self.log.rejected

    def buffered(self) -> int:
        """Items queued here and not yet added to the stream."""
        return len(self._outbox) - self._added

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) of the connection as of the last control read."""
        life = self.log.life
        return life.sender_count, life.receiver_count

    async def close(self) -> None:
        """Adds what is queued, then the end marker and `CLOSE`; cleans up if last.

        Raises:
            ChannelError: If queued frames could not be added (the Redis error is its cause).
        """
        if self._closed:
            return
        self._closed = True
        self._outbox.close()
        error: BaseException | None = None
        try:
            while self._outbox_queued() or self._busy:
                if self._outbox.error is not None:
                    raise self._outbox.error
                self._idle.clear()
                self._wake()
                await self._idle.wait()
            if self._outbox.error is not None:
                raise self._outbox.error
            marker = await self._add_entry(MARKER, 0, maxsize=0)
            await self.log.append(CLOSE, marker_body(marker))
            await self.log.clean_up_if_last(self.settings.connect_timeout)
        except Exception as exc:
            error = exc
        finally:
            await self._stop()
            await release(self.store.client)
        if error is not None:
            raise ChannelError(
                f"the sender could not deliver {self.buffered()} item(s) to Redis: {error!r}"
            ) from error

    # -- the flusher -----------------------------------------------------------------------

    def _outbox_queued(self) -> int:
        return self._outbox.queued_items()

    def _wake(self) -> None:
        self._work.set()
        if self._outbox.error is None and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        outbox = self._outbox
        try:
            while not self._stopping:
                if self._outbox_queued() == 0:
                    self._idle.set()
                    if self._added and (self._blocked or outbox.full() or self._closed):
                        # a sender waits for room (perhaps for a frame of many items)
                        await self._wait_taken()
                        continue
                    if self._closed:
                        return
                    self._work.clear()
                    await self._work.wait()
                    if outbox.error is not None:
                        return
                    continue
                self._idle.clear()
                self._busy = True
                room = self.maxsize - self._added if self.maxsize > 0 else MAX_BATCH_ITEMS
                queued = outbox.queued_items()
                frames = outbox.take(max(1, min(room, MAX_BATCH_ITEMS)), self._entry_bytes)
                items = queued - outbox.queued_items()
                try:
                    await self._add_entry(DATA, items, frames)
                except BaseException as exc:
                    outbox.settle(items)
                    if not isinstance(exc, asyncio.CancelledError):
                        outbox.fail(ChannelError(f"adding to the Redis stream failed: {exc!r}"))
                    raise
                finally:
                    self._busy = False
                self._added += items
        except Exception:
            self._idle.set()
        finally:
            self._busy = False
            self._idle.set()

    async def _add_entry(
        self, kind: int, items: int, frames: list[bytes] | None = None, maxsize: int | None = None
    ) -> StreamId:
        """Adds one sealed entry (a data entry: of `frames`), waiting for room; returns its id."""
        limit = self.maxsize if maxsize is None else maxsize
        body, batch = b"", None
        if frames is not None:
            body, batch = frame_digest(self.codec, frames), pack_frames(frames)
        waited_since: float | None = None
        while True:
            entry_id = propose_id(self._last)
            envelope = seal_entry(
                self.codec,
                self.log.party.id,
                self.log.party.next_seq(),
                kind,
                entry_id,
                body,
                items,
            )
            status, held, where = await self.store.add(limit, items, entry_id, envelope, batch)
            if status == 1:
                self._last = entry_id
                self._settle(held)
                return entry_id
            if status == -1:
                self._last = parse_id(where)
                continue
            self._settle(held)
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > self.settings.claim_idle:
                await reap(self.log, self.settings.claim_idle)
                waited_since = time.monotonic()
            await self.store.wait_signal(where, self.settings.block)

    async def _wait_taken(self) -> None:
        """Waits until receivers took some of what this sender added (or `held` shows it)."""
        held, sig = await self.store.status(wait=True)
        if self._settle(held):
            return
        await self.store.wait_signal(sig, self.settings.block)
        held, _ = await self.store.status(wait=False)
        self._settle(held)

    def _settle(self, held: int) -> int:
        """Releases outbox room for items that can no longer be in the stream; returns how many."""
        gone = max(0, self._added - max(held, 0))
        if gone:
            self._added -= gone
            self._outbox.settle(gone)
        return gone

    async def _stop(self) -> None:
        """Stops the flusher at its next wake-up (this adds one), else cancels it."""
        self._stopping = True
        self._work.set()
        flusher, self._flusher = self._flusher, None
        if flusher is not None and not flusher.done():
            with contextlib.suppress(Exception):  # a wake-up only shortens the wait
                await self.store.wake()
            await asyncio.wait({flusher}, timeout=self.settings.block + 1)
            if not flusher.done():
                flusher.cancel()
                await asyncio.wait({flusher}, timeout=self.settings.block + 1)
        if self._added:
            self._outbox.settle(self._added)
            self._added = 0
        if self._outbox.error is None:
            self._outbox.fail(ChannelClosedError("the channel was closed while sending"))
