"""`ControlLog`: the lifecycle adapter, from the control stream to core's `Lifecycle`.

Each party (sender or receiver) appends signed entries to the connection's control stream
(`ctl`) and reads it from the start, folding every entry that verifies, in stream order, into
its own `connector_core.lifecycle.Lifecycle`:

- `OPEN` -> `open_sender` (refused once the connection ended: the sender is *late*; an open
  whose connector was pickled switches the grace period on);
- `CLOSE` -> `close_sender`, and remembers where that sender's end marker is;
- `JOIN` / `LEAVE` -> `join_receiver` / `leave_receiver` (a `LEAVE` may name another, dead
  receiver: whoever found it dead writes it);
- `END` -> `grace_over()`, if it names the close that began the current quiescent spell.

Entries that do not verify (written without the key, or copied) are dropped and counted: a
party without the key cannot join, close or end anything. Every party folds the same
entries, so every party reaches the same answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from connector_core.codec import Codec, MessageRejectedError
from connector_core.exceptions import ChannelClosedError
from connector_core.lifecycle import Lifecycle
from connector_redis.entries import (
    CLOSE,
    END,
    JOIN,
    LEAVE,
    OPEN,
    marker_of,
    open_entry,
    seal_entry,
)
from connector_redis.keys import StreamId, format_id, parse_id, propose_id
from connector_redis.store import RawEntry, Store

__all__ = ["ControlLog", "Party", "open_body"]

_log = logging.getLogger(__name__)


class Party:
    """A party's id and its sequence numbers (shared by the entries it signs)."""

    __slots__ = ("id", "name", "seq")

    def __init__(self, party_id: bytes) -> None:
        """Creates the party `party_id` (8 random bytes)."""
        self.id = party_id
        self.name = party_id.hex()
        self.seq = 0

    def next_seq(self) -> int:
        """The sequence number of the party's next entry."""
        self.seq += 1
        return self.seq


class ControlLog:
    """One party's view of the control stream (see the module docstring)."""

    def __init__(self, store: Store, codec: Codec, party: Party) -> None:
        """Creates the view; nothing is read until `read()`.

        Args:
            store: The connection's keys.
            codec: The connection's codec (bound to it).
            party: The party that appends.
        """
        self.store = store
        self.codec = codec
        self.party = party
        self.life: Lifecycle[str] = Lifecycle()
        self.markers: dict[str, StreamId] = {}
        """Sender -> the id of its end marker (once it closed)."""
        self.late: set[str] = set()
        """Senders that opened after the end (refused)."""
        self.position = "0-0"
        """The last control id read."""
        self.spell = ""
        """The id of the close that began the current quiescent spell (grace period)."""
        self.rejected = 0
        self._last: StreamId = (0, 0)
        self.listeners: list[Callable[[], None]] = []

    # -- appending -------------------------------------------------------------------------

    async def append(self, kind: int, body: bytes = b"") -> str:
        """Adds a signed entry; returns its id.

        Raises:
            redis.exceptions.RedisError: If the server fails.
        """
        after = max(self._last, parse_id(self.position))
        while True:
            entry_id = propose_id(after)
            envelope = seal_entry(
                self.codec, self.party.id, self.party.next_seq(), kind, entry_id, body, 0
            )
            added, last = await self.store.append(entry_id, envelope)
            if added:
                self._last = entry_id
                return format_id(entry_id)
            after = last

    # -- reading ---------------------------------------------------------------------------

    async def read(self, until: str | None = None) -> bool:
        """Folds everything appended so far (without waiting); True if anything changed.

        Args:
            until: Optional; read on until this id was folded (an entry this party added).
        """
        changed = False
        while True:
            entries, _ = await self.store.read_control(self.position, None, None)
            changed = self.fold(entries) or changed
            if not entries or until is None or parse_id(self.position) >= parse_id(until):
                return changed

    def fold(self, entries: list[RawEntry]) -> bool:
        """Folds entries read from the control stream, in order; True if any verified."""
        changed = False
        for entry_id, fields in entries:
            self.position = entry_id
            if fields is None or b"e" not in fields:
                continue
            try:
                entry = open_entry(self.codec, fields[b"e"], parse_id(entry_id))
                self._apply(entry_id, entry.kind, entry.party.hex(), entry.body)
            except MessageRejectedError as exc:
                self.rejected += 1
                if self.rejected == 1:
                    _log.warning("ignored a control entry that does not verify: %s", exc)
                continue
            changed = True
        if changed:
            for listener in self.listeners:
                listener()
        return changed

    def _apply(self, entry_id: str, kind: int, party: str, body: bytes) -> None:
        life = self.life
        if kind == OPEN:
            if body[:1] == b"\x01":
                life.grace = True
            try:
                life.open_sender(party)
            except ChannelClosedError:
                self.late.add(party)
        elif kind == CLOSE:
            self.markers[party] = marker_of(body)
            if life.close_sender(party).end_pending:
                self.spell = entry_id
        elif kind == JOIN:
            life.join_receiver(body.hex())
        elif kind == LEAVE:
            life.leave_receiver(body.hex())
        elif kind == END:
            if life.end_pending and body.decode(errors="replace") == self.spell:
                life.grace_over()
        else:
            raise MessageRejectedError(f"unknown control entry kind {kind}")

    # -- questions -------------------------------------------------------------------------

    @property
    def everyone_gone(self) -> bool:
        """True once the connection ended and every sender and receiver has gone."""
        life = self.life
        return life.ended and not life.sender_count and not life.receiver_count

    async def end_if_alone(self) -> None:
        """Ends a quiescent connection that no receiver is left to count down the grace of."""
        if self.life.end_pending and not self.life.receiver_count:
            await self.append(END, self.spell.encode())
            await self.read()

    async def clean_up_if_last(self, timeout: float) -> None:
        """Deletes the connection's keys if this party is the last one out (best effort).

        Pipeline items that no receiver took yet keep the keys for a later receiver, which
        then cleans up. A failure is logged: `purge()` removes what is left.

        Args:
            timeout: Seconds at most.
        """
        try:
            async with asyncio.timeout(timeout):
                for _ in range(3):
                    await self.read()
                    await self.end_if_alone()
                    if not self.everyone_gone:
                        return
                    if not self.store.pubsub and await self.store.undelivered():
                        return
                    if await self.store.vanish(self.position):
                        return
        except Exception as exc:  # best effort: purge() removes what is left
            _log.warning("could not clean up %s: %r", self.store.keys.prefix, exc)

    def __repr__(self) -> str:
        return f"ControlLog({self.store.keys.ctl!r}, party={self.party.name})"


def open_body(shared: bool) -> bytes:
    """The body of an `OPEN` entry."""
    return b"\x01" if shared else b"\x00"
