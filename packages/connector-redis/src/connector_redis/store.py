"""`Store`: the Redis commands of one connection, typed (scripts in `connector_redis.scripts`).

Every method is one round trip. Replies are turned into Python values here, so the transports
above speak in stream ids and entries, never in RESP arrays.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from connector_redis import scripts
from connector_redis.keys import WORK_GROUP, Keys, StreamId, format_id, parse_id

__all__ = ["Acked", "Fetched", "RawEntry", "Store"]

RawEntry = tuple[str, "dict[bytes, bytes] | None"]
"""A stream entry as read: its id and fields (None when the entry was deleted meanwhile)."""

NEW, RETURNED = 1, 2
"""What `Fetched.kind` says the entries are: new, or given back by a closing receiver."""


class Fetched(NamedTuple):
    """What `Store.fetch` found."""

    returned: list[RawEntry]
    """Entries a closing receiver gave back (pipeline): taken first."""
    new: list[RawEntry]
    """New entries of the group."""
    pending: int | None = None
    """Unacknowledged entries of the group, when nothing was there (None when it was not
    looked up: after large entries, unless the caller was to wait)."""
    sig: str = "0-0"
    """The last wake-up id (when nothing was there): wait for one after it."""


async def _run(script: Any, keys: list[str], args: list[Any]) -> Any:
    return await script(keys=keys, args=args)


Acked = list[tuple[str, int]]
"""Entries a receiver acknowledges: each id with the items its signed envelope states (0 for
an entry that does not verify), which is what `held` counted for it."""


def _pairs(acked: Acked) -> list[Any]:
    return [part for pair in acked for part in pair]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_entries(reply: Any) -> list[RawEntry]:
    """The entries of an `XREADGROUP` reply on one stream."""
    for _, entries in reply or []:
        return _entries(entries)
    return []


def _entries(raw: Any) -> list[RawEntry]:
    found: list[RawEntry] = []
    for item in raw or []:
        entry_id, fields = item[0], item[1]
        if isinstance(fields, list):
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        found.append((_text(entry_id), fields or None))
    return found


LARGE_ENTRY = 256 * 1024
"""Bytes of frames from which an entry counts as large (`Store.fetch`)."""
DEFAULT_LARGEST_VALUE = 512 * 1024 * 1024
"""Redis's default `proto-max-bulk-len`: the largest value (a stream entry's field) it takes."""
_BULK_LENGTH = "proto-max-bulk-len"


class Store:
    """The keys of one connection on one client (the running loop's)."""

    def __init__(self, client: Redis, keys: Keys, pubsub: bool) -> None:
        """Registers the scripts on `client`.

        Args:
            client: The running event loop's Redis client.
            keys: The connection's keys.
            pubsub: True for a pubsub connection (acks trim), False for a pipeline (acks delete).
        """
        self.client = client
        self._redis: Any = client  # redis-py's reply types are unions; replies are parsed here
        self.keys = keys
        self.pubsub = pubsub
        self._flag = "1" if pubsub else "0"
        self._large = False
        """The last entries read held a large one (`LARGE_ENTRY`): `fetch` reads outside Lua."""
        self._keys = [keys.data, keys.held, keys.wait, keys.sig, keys.sizes]
        register = client.register_script
        self._add = register(scripts.ADD)
        self._fetch = register(scripts.FETCH)
        self._take_back = register(scripts.TAKE_BACK)
        self._ack = register(scripts.ACK)
        self._leave = register(scripts.LEAVE)
        self._join = register(scripts.JOIN_PUBSUB)
        self._status = register(scripts.STATUS)
        self._append = register(scripts.APPEND)
        self._wake = register(scripts.WAKE)
        self._vanish = register(scripts.VANISH)

    # -- sending ---------------------------------------------------------------------------

    async def largest_value(self) -> int:
        """The most bytes the server takes in one value (its `proto-max-bulk-len`).

        Redis's default (512 MiB) when the server does not say (`CONFIG` renamed, disabled
        or not permitted, as on some hosted servers).
        """
        try:
            reply = await self._redis.config_get(_BULK_LENGTH)
        except ResponseError:
            return DEFAULT_LARGEST_VALUE
        values = [v for k, v in dict(reply or {}).items() if _text(k) == _BULK_LENGTH]
        try:
            return int(values[0])
        except (IndexError, TypeError, ValueError):
            return DEFAULT_LARGEST_VALUE

    async def add(
        self,
        maxsize: int,
        items: int,
        entry_id: StreamId,
        envelope: bytes,
        batch: bytes | None = None,
    ) -> tuple[int, int, str]:
        """Adds an entry of the data stream at `entry_id` if the stream has room.

        Args:
            maxsize: The room (0: no limit).
            items: The items it counts.
            entry_id: Its id.
            envelope: Its `e` field.
            batch: A data entry's frames, its `b` field (an end marker has none).

        Returns:
            `(1, held, id)` added; `(0, held, sig)` no room (wait for a wake-up after `sig`);
            `(-1, held, last)` the id is taken: seal again for an id after `last`.
        """
        args = [maxsize, items, format_id(entry_id), envelope, self._flag]
        if batch is not None:
            args.append(batch)
        status, held, where = await _run(self._add, self._keys, args)
        return int(status), int(held), _text(where)

    async def status(self, wait: bool) -> tuple[int, str]:
        """Returns `(held, last wake-up id)`; with `wait`, the next change wakes it."""
        held, sig = await _run(self._status, self._keys, ["1" if wait else "0"])
        return int(held), _text(sig)

    async def wake(self) -> None:
        """Adds a wake-up to `sig`: every party blocked on it looks again."""
        await _run(self._wake, self._keys, [])

    async def wait_signal(self, after: str, block: float) -> str:
        """Waits up to `block` seconds for a wake-up after `after`; returns the last one seen."""
        reply = await self._redis.xread({self.keys.sig: after}, block=int(block * 1000))
        for _, entries in reply or []:
            if entries:
                return _text(entries[-1][0])
        return after

    # -- receiving -------------------------------------------------------------------------

    async def ensure_work_group(self) -> None:
        """Creates the pipeline group at id 0 (and the stream) unless it exists."""
        try:
            await self._redis.xgroup_create(self.keys.data, WORK_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def join_pubsub(self, group: str) -> StreamId:
        """Creates a subscriber's group at the stream's last id; returns that id."""
        return parse_id(_text(await _run(self._join, [self.keys.data], [group])))

    async def fetch(self, group: str, me: str, count: int, wait: bool, acked: Acked) -> Fetched:
        """Acks `acked`, then takes what is there without blocking.

        While entries are small: one script, `scripts.FETCH` (one round trip). Once one was
        large (`LARGE_ENTRY`, read by this store): `scripts.TAKE_BACK` (the acks, and what a
        closing receiver gave back) beside a plain `XREADGROUP` for new entries, so that
        they come from the server as they are instead of copied through Lua (about 40 ms of
        the server's one thread for 16 MiB); when neither found anything and the caller is
        to wait, `FETCH` then looks once more and sets the wait flag in the same step.

        Args:
            group: The receiver's group.
            me: Its consumer name.
            count: The most entries to take.
            wait: The caller waits if nothing is there: set the wait flag then, and say
                how many entries the group still has unacknowledged.
            acked: Entries to acknowledge first.
        """
        if self._large:
            args = [group, me, count, self._flag, *_pairs(acked)]
            back, new = await asyncio.gather(
                _run(self._take_back, self._keys, args),
                self._redis.xreadgroup(group, me, {self.keys.data: ">"}, count=count),
            )
            found = Fetched(_entries(back), self._sized(_stream_entries(new)))
            if found.returned or found.new or not wait:
                return found
            acked = []
        args = [group, me, count, self._flag, "1" if wait else "0", *_pairs(acked)]
        reply = await _run(self._fetch, self._keys, args)
        kind = int(reply[0])
        if kind == RETURNED:
            return Fetched(_entries(reply[1]), [])
        if kind == NEW:
            return Fetched([], self._sized(_entries(reply[1])))
        return Fetched([], [], int(reply[1]), _text(reply[2]))

    async def ack(self, group: str, acked: Acked) -> None:
        """Acknowledges entries a receiver handed out (see `scripts.ACK`)."""
        await _run(self._ack, self._keys, [group, self._flag, *_pairs(acked)])

    async def read_block(self, group: str, me: str, count: int, block: float) -> list[RawEntry]:
        """Waits up to `block` seconds for new entries of `group`."""
        reply = await self._redis.xreadgroup(
            group, me, {self.keys.data: ">"}, count=count, block=int(block * 1000)
        )
        return self._sized(_stream_entries(reply))

    def _sized(self, entries: list[RawEntry]) -> list[RawEntry]:
        """Notes whether `entries` (new ones, just read) held a large one; returns them."""
        if entries:
            self._large = any(
                fields is not None and len(fields.get(b"b", b"")) >= LARGE_ENTRY
                for _, fields in entries
            )
        return entries

    async def claim(self, group: str, me: str, min_idle: float, count: int) -> list[RawEntry]:
        """Claims entries unacknowledged for `min_idle` seconds (a dead receiver's)."""
        reply = await self._redis.xautoclaim(
            self.keys.data, group, me, int(min_idle * 1000), "0-0", count=count
        )
        return _entries(reply[1])

    async def keep(self, group: str, me: str, ids: list[str]) -> None:
        """Resets the idle time of entries this receiver still holds (it is alive)."""
        if ids:
            await self._redis.xclaim(
                self.keys.data,
                group,
                me,
                0,
                ids,
                justid=True,
            )

    async def heartbeat(self, party: str, ttl: float) -> None:
        """Marks a receiver alive for `ttl` seconds."""
        await self._redis.set(self.keys.alive(party), b"1", px=int(ttl * 1000))

    async def alive(self, party: str) -> bool:
        """True while the receiver's heartbeat has not expired."""
        return bool(await self._redis.exists(self.keys.alive(party)))

    async def leave(self, group: str, me: str, acked: Acked, subject: str = "") -> None:
        """Takes a receiver out of the stream (see `scripts.LEAVE`); `subject` drops its heartbeat.

        Args:
            group: Its group.
            me: Its consumer name.
            acked: Entries it handed out (acknowledged now).
            subject: Optional; whose heartbeat to delete.
        """
        await _run(self._leave, self._keys, [group, me, self._flag, *_pairs(acked)])
        await self._redis.delete(self.keys.alive(subject or me))

    # -- the control stream ----------------------------------------------------------------

    async def append(self, entry_id: StreamId, envelope: bytes) -> tuple[bool, StreamId]:
        """Adds a control entry at `entry_id`; `(False, last)` when that id is taken."""
        args = [format_id(entry_id), envelope]
        status, where = await _run(self._append, [self.keys.ctl], args)
        return int(status) == 1, parse_id(_text(where))

    async def read_control(
        self, after: str, sig_after: str | None, block: float | None
    ) -> tuple[list[RawEntry], str | None]:
        """Reads control entries after `after` (and wake-ups after `sig_after`).

        Args:
            after: The last control id read.
            sig_after: Optional; also wait for wake-ups after this id.
            block: Seconds to wait when there is nothing (None: do not wait).

        Returns:
            The control entries, and the last wake-up id (changed when one came).
        """
        streams = {self.keys.ctl: after}
        if sig_after is not None:
            streams[self.keys.sig] = sig_after
        wait = None if block is None else max(1, int(block * 1000))
        reply = await self._redis.xread(streams, block=wait)
        control: list[RawEntry] = []
        for name, entries in reply or []:
            if _text(name) == self.keys.ctl:
                control = _entries(entries)
            elif entries:
                sig_after = _text(entries[-1][0])
        return control, sig_after

    async def vanish(self, last_control: str) -> bool:
        """Deletes every key of the connection unless the control stream moved past it."""
        keys = [self.keys.ctl, *[k for k in self.keys.all() if k != self.keys.ctl]]
        return bool(await _run(self._vanish, keys, [last_control]))

    async def undelivered(self) -> int:
        """Items in the stream that some group still needs."""
        return int(await self._redis.get(self.keys.held) or 0)

    async def subscriber_groups(self) -> list[str]:
        """The names of the stream's groups (pubsub: one per subscriber)."""
        try:
            groups = await self._redis.xinfo_groups(self.keys.data)
        except ResponseError:
            return []
        return [_text(group["name"]) for group in groups]
