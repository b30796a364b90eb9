"""`RedisReceiver`: the receive transport, from the receiver's group to verified payloads.

A reader task fills a local buffer: `FETCH` (one script: acknowledge what was handed out,
then take what a closing receiver gave back, or new entries, without blocking), and, when
nothing is there and nothing waits in the buffer, a blocking `XREADGROUP`. Every entry is
verified where it arrives (`connector_redis.entry_verifier`: its envelope, then each frame by
core's `Verifier`) and its (sender, sequence) admitted by a `ReplayGuard` before it is
buffered; what fails is dropped, counted and acknowledged. The buffer holds one payload per
frame and counts items: a frame's item count comes from its verified header
(`Verifier.accept_items`). An entry is acknowledged once
its last frame was handed to the user and the next one is asked for (or at close). A pipeline
receiver that closes hands on what it took and did not hand out as a new entry, with the
items the channel gives back (`give_back`: the rest of a `send_many()` batch of which the
user took only some) first.

A watcher task (`connector_redis.watch`) reads the control stream and `sig`, keeps the
heartbeat, and pokes the reader when something changed: a poke ends the reader's wait for
its peers' acknowledgements at the end of a pipeline; a blocking read is never interrupted
(it ends by itself within the `block` setting).

The end: a subscriber is done when the connection has ended and it saw every sender's end
marker (or the marker came before its group); a pipeline receiver when the connection has
ended and its group holds nothing unread and nothing unacknowledged. Until then, a pipeline
receiver whose peers still hold entries claims those idle for longer than the claim idle time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Final

from connector_core.codec import Codec
from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.framing import pack_frames
from connector_core.payload import Payload
from connector_core.transport import Verifier
from connector_redis.client import release
from connector_redis.control import ControlLog
from connector_redis.entries import DATA, LEAVE, frame_digest, seal_entry
from connector_redis.entry_verifier import EntryVerifier
from connector_redis.keys import StreamId, parse_id, propose_id
from connector_redis.liveness import reap
from connector_redis.settings import RedisSettings
from connector_redis.store import NEW, RETURNED, Acked, RawEntry
from connector_redis.watch import Watcher

__all__ = ["FETCH_COUNT", "RedisReceiver"]

FETCH_COUNT: Final = 64
"""Entries one read takes at most."""
LOW_WATER: Final = 64
"""Items left in the buffer when the reader reads ahead."""


class RedisReceiver:
    """The receive transport of one receiver (see the module docstring)."""

    def __init__(
        self, log: ControlLog, codec: Codec, group: str, start: StreamId, settings: RedisSettings
    ) -> None:
        """Creates the transport; `start()` starts its tasks.

        Args:
            log: The receiver's control log.
            codec: The connection's codec (bound to it).
            group: Its consumer group (pipeline: the shared one).
            start: Pubsub: the id its group starts after (earlier markers are not for it).
            settings: The backend's settings.
        """
        self.log = log
        self.store = log.store
        self.codec = codec
        self.group = group
        self.me = log.party.name
        self.start_id = start
        self.settings = settings
        self.verifier = Verifier(codec, "RedisChannel")
        self._entries = EntryVerifier(codec, self.verifier)
        self._items: deque[tuple[Payload, bytes, int, str, bool]] = deque()
        """(payload, frame, its items, entry id, last frame of its entry)"""
        self._count = 0
        """Items of the payloads in `_items`."""
        self._partial: str | None = None
        self._given_back: list[tuple[bytes, int]] = []
        """(frame, items) the channel took and did not return (`give_back`), for `close()`."""
        self._handed: Acked = []
        """Entries whose last frame was handed out: acknowledged when the next is asked for."""
        self._acks: Acked = []
        self._held: dict[str, int] = {}
        """The entries this receiver holds unacknowledged, with their signed item counts."""
        self._arrived = asyncio.Event()
        self._starving = asyncio.Event()
        self._wake = asyncio.Event()
        """Set when the reader has something to do: read (starving) or acknowledge."""
        self._poked = asyncio.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._next_claim = 0.0
        self._watcher: Watcher | None = None

    def start(self) -> None:
        """Starts the reader and the watcher tasks."""
        self._reader = asyncio.ensure_future(self._read())
        self._watcher = Watcher(self, self.log, self.settings)
        self._watcher.start()

    def fail(self, exc: BaseException) -> None:
        """Ends receiving with `exc` (the watcher failed)."""
        if self._error is None:
            self._error = exc
        self._arrived.set()

    # -- RecvTransport ---------------------------------------------------------------------

    def try_recv(self) -> Payload | None:
        """The next verified payload if one is here now, else None (asks the reader)."""
        if self._handed:
            self._acks.extend(self._handed)
            self._handed.clear()
            self._wake.set()  # acknowledge now: the senders wait for that room
        if not self._items:
            self._starving.set()
            self._wake.set()
            return None
        payload, _, items, entry_id, last = self._items.popleft()
        if last:
            self._handed.append((entry_id, self._held.get(entry_id, 0)))
            self._partial = None
        else:
            self._partial = entry_id
        self._count -= items
        if self._count <= LOW_WATER < self._count + items:
            self._starving.set()  # read ahead while the user takes the rest
            self._wake.set()
        return payload

    async def recv(self) -> Payload:
        """Waits for the next verified payload.

        Raises:
            ChannelClosedError: When the connection has ended and everything was handed out.
            ChannelError: If reading from Redis failed.
        """
        while True:
            payload = self.try_recv()
            if payload is not None:
                return payload
            if self._error is not None:
                raise ChannelError(f"reading from Redis failed: {self._error!r}") from self._error
            if self._ended or self._closed:
                raise ChannelClosedError("the connection has ended")
            self._arrived.clear()
            await self._arrived.wait()

    def control_rejected(self) -> int:
        """Control entries and end markers dropped as failing verification.

        Core's `ControlRejections`: they count in the channel's `statistics().rejected`.
        """
        return self.log.rejected

    def buffered(self) -> int:
        """Items held here and not yet taken (a payload of `send_many()` holds several)."""
        return self._count

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) of the connection as the control stream says."""
        life = self.log.life
        return life.sender_count, life.receiver_count

    def poke(self) -> None:
        """Something changed (control entry, wake-up): the reader looks again."""
        self._poked.set()

    def give_back(self, frame: bytes, items: int) -> None:
        """Keeps a frame of items the channel took and did not return, for `close()`.

        A pipeline receiver hands it on to the others when it closes, ahead of the rest of
        the entry it was taking from; a subscriber drops it (what it leaves is its own).
        """
        if not self.store.pubsub and not self._closed:
            self._given_back.append((frame, max(1, items)))

    def held_ids(self) -> list[str]:
        """Entries this receiver holds and has not acknowledged (kept fresh while alive)."""
        return sorted(self._held)

    async def close(self) -> None:
        """Leaves: acknowledges what was handed out, gives the rest back, writes `LEAVE`.

        Pipeline: what the channel gave back and the rest of a partly handed entry are
        added as one new entry for the others (before the entries it came from are
        acknowledged); the entries it held and had not handed out go to `returned`.
        """
        if self._closed:
            return
        self._closed = True
        self._arrived.set()
        self._poked.set()
        self._wake.set()
        reader, self._reader = self._reader, None
        if reader is not None:
            # Not cancelled: a cancelled read may still be served by the server (entries
            # land in this receiver's pending list after it left), and a cancelled
            # acknowledgement may be lost. The reader stops after its current, bounded call.
            await asyncio.wait({reader}, timeout=self.settings.block + 1)
            if not reader.done():
                reader.cancel()
                await asyncio.wait({reader}, timeout=self.settings.block + 1)
        acked = [*self._acks, *self._handed]
        self._acks, self._handed = [], []
        rest, self._given_back = self._given_back, []
        after = self.start_id
        if self._partial is not None and not self.store.pubsub:
            partial = self._partial
            rest += [(frame, items) for _, frame, items, eid, _ in self._items if eid == partial]
            acked.append((partial, self._held.get(partial, 0)))
            after = parse_id(partial)
        try:
            if rest:
                await self._hand_on(rest, after)
            self._items.clear()
            self._count = 0
            await self.store.leave(self.group, self.me, acked)
            await self.log.append(LEAVE, self.log.party.id)
            if self._watcher is not None:
                await self._watcher.stop()
            if self.log.life.ended:
                # A killed receiver never leaves: take out those found dead, so that the
                # last one out deletes the keys (best effort, like the clean-up itself).
                with contextlib.suppress(Exception):
                    await reap(self.log, self.settings.claim_idle)
            await self.log.clean_up_if_last(self.settings.connect_timeout)
        finally:
            if self._watcher is not None:
                await self._watcher.stop()
            await release(self.store.client)

    async def _hand_on(self, rest: list[tuple[bytes, int]], after: StreamId) -> None:
        """Adds frames this receiver took and did not hand out as one new entry.

        Args:
            rest: (frame, items) of each: verified counts, or the channel's own, so that
                `held` stays counted in items.
            after: An id the new entry goes after.
        """
        frames, party = [frame for frame, _ in rest], self.log.party
        digest, batch = frame_digest(self.codec, frames), pack_frames(frames)
        items = sum(n for _, n in rest)
        while True:
            new_id = propose_id(after)
            envelope = seal_entry(
                self.codec, party.id, party.next_seq(), DATA, new_id, digest, items
            )
            status, _, where = await self.store.add(0, items, new_id, envelope, batch)
            if status == 1:
                return
            after = parse_id(where)

    # -- the reader ------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            await self._read_until_end()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = exc
        self._arrived.set()

    async def _read_until_end(self) -> None:
        pubsub = self.store.pubsub
        while not self._closed:
            if not self._starving.is_set() and (self._items or self._handed or not pubsub):
                # Pipeline: read only for a user who asks (what a receiver reads, its
                # competitors cannot have); pubsub: read ahead into an empty buffer. What
                # was handed out is acknowledged at once, so that senders get the room.
                if self._acks:
                    acked, self._acks = self._acks, []
                    await self.store.ack(self.group, acked)
                    self._forget(acked)
                    continue
                self._wake.clear()
                if not self._starving.is_set():
                    await self._wait(self._wake, self.settings.block)
                continue
            self._poked.clear()
            acked, self._acks = self._acks, []
            ended = self.log.life.ended
            found = await self.store.fetch(
                self.group, self.me, FETCH_COUNT, ended and not pubsub, acked
            )
            self._forget(acked)
            if found.returned or found.new:
                self._take(found.returned, RETURNED)
                self._take(found.new, NEW)
                continue
            if self._items or self._handed:
                self._starving.clear()  # the user holds items: read when it asks again
                continue
            if self._finished(found.pending):
                self._ended = True
                self._arrived.set()
                return
            if ended and not pubsub:
                # Everything was delivered; peers still hold entries: wait for their acks
                # (a wake-up) or claim what a dead peer held.
                if not await self._claim():
                    await self._wait(self._poked, self._claim_interval())
                continue
            await self._read_blocking()

    def _forget(self, acked: Acked) -> None:
        for entry_id, _ in acked:
            self._held.pop(entry_id, None)

    async def _read_blocking(self) -> None:
        # Not interrupted: a blocked read that is cancelled may still be served by the
        # server (it lands in this receiver's pending list), so a poke waits for the read's
        # bounded end (the `block` setting) instead.
        entries = await self.store.read_block(self.group, self.me, FETCH_COUNT, self.settings.block)
        if entries:
            self._take(entries, NEW)
        elif not self.store.pubsub:
            await self._claim()

    async def _wait(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()

    def _claim_interval(self) -> float:
        return max(0.1, min(self.settings.block, self.settings.claim_idle / 2))

    async def _claim(self) -> bool:
        """Pipeline: claims entries idle for longer than the claim idle time (a dead peer's)."""
        now = time.monotonic()
        if now < self._next_claim:
            return False
        self._next_claim = now + self._claim_interval()
        entries = await self.store.claim(self.group, self.me, self.settings.claim_idle, FETCH_COUNT)
        entries = [(i, f) for i, f in entries if i not in self._held]
        if entries:
            self._take(entries, RETURNED)
        return bool(entries)

    def _finished(self, pending: int | None) -> bool:
        """True when nothing more can reach this receiver (its buffer is empty).

        Args:
            pending: Pipeline: the group's unacknowledged entries (None: not known).
        """
        log = self.log
        if not log.life.ended:
            return False
        if not self.store.pubsub:
            return pending == 0
        return all(
            marker <= self.start_id or sender in self._entries.markers
            for sender, marker in log.markers.items()
            if sender not in log.late
        )

    # -- taking entries --------------------------------------------------------------------

    def _take(self, entries: list[RawEntry], kind: int) -> None:
        redelivered = kind == RETURNED
        for entry_id, fields in entries:
            if entry_id in self._held:
                continue
            if fields is None:
                self._acks.append((entry_id, 0))  # deleted meanwhile (and uncounted then)
                continue
            counted, payloads = self._entries.open(entry_id, fields, redelivered)
            if not payloads:
                self._acks.append((entry_id, counted))
                continue
            self._held[entry_id] = counted
            last = len(payloads) - 1
            self._items.extend(
                (payload, frame, items, entry_id, n == last)
                for n, (payload, frame, items) in enumerate(payloads)
            )
            self._count += sum(items for _, _, items in payloads)
        if self._items:
            self._starving.clear()
            self._arrived.set()
