"""The signed envelope: which connection, which sender and which place in its stream.

Every data frame a channel sends is sealed by its connector's `Codec` as

    frame  = tag | header | payload           (tag: 32 bytes, absent when signing is off)
    header = version:u8 connection:16 sender:8 seq:u64 count:u32
    tag    = HMAC-SHA256(key, header | payload)
    payload = `count` items, in one of the layouts of `connector_core.payload`

so the signature covers *who* sent it (the sender's random id), *where* (the connection id,
derived from the connection's name, so two connections that share a secret still reject each
other's frames) and *which* message (the sender's sequence number, counting from 1).

A receiver opens each frame where it arrives (`Codec.open`), before it buffers, counts or
deduplicates anything, and then asks its `ReplayGuard` whether that (sender, seq) is new: a
captured frame sent again is dropped and counted. The guard keeps, per sender, the highest
sequence seen and a window of the `WINDOW` sequences below it, so its memory is bounded by the
number of senders (which only key holders can create) and frames may arrive somewhat out of
order (a pipeline receiver that closed gives its unhanded frames back to the others).
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from typing import Final, NamedTuple

__all__ = [
    "HEADER",
    "NO_CONNECTION",
    "SENDER_SIZE",
    "VERSION",
    "WINDOW",
    "Header",
    "ReplayGuard",
    "connection_id",
]

VERSION: Final = 2
"""The envelope version this library writes and reads."""

HEADER: Final = struct.Struct("!B16s8sQI")
"""The header's layout: version, connection id, sender id, sequence, item count."""

SENDER_SIZE: Final = 8
"""Bytes of a sender id."""

NO_CONNECTION: Final = bytes(16)
"""The connection id of a codec not bound to a named connection."""

WINDOW: Final = 4096
"""Sequences below a sender's highest one that a receiver still accepts once each."""

MAX_SENDERS: Final = 65536
"""Senders a guard remembers; the least recently seen is forgotten beyond it."""


class Header(NamedTuple):
    """The envelope of one received frame, after its tag verified."""

    connection: bytes
    sender: bytes
    seq: int
    items: int


def connection_id(name: str) -> bytes:
    """Returns the 16-byte id of the connection called `name` (the same in every process).

    Args:
        name: What identifies the connection to every participant (for example its job id
            and spec id, or its rendezvous address).
    """
    return hashlib.sha256(b"connector-connection\0" + name.encode()).digest()[:16]


class _Window:
    __slots__ = ("seen", "top")

    def __init__(self) -> None:
        self.top = 0
        self.seen = 0  # bit i set: sequence top - i was accepted


class ReplayGuard:
    """Remembers which sequences of each sender a receiver has accepted, in bounded memory."""

    __slots__ = ("_full", "_last", "_max_senders", "_senders", "_window", "replays")

    def __init__(self, window: int = WINDOW, max_senders: int = MAX_SENDERS) -> None:
        """Creates an empty guard.

        Args:
            window: Sequences below a sender's highest that are still accepted once each.
            max_senders: Senders remembered at most (least recently seen forgotten first).
        """
        self._window = window
        self._full = (1 << window) - 1  # every sequence of the window seen
        self._senders: OrderedDict[bytes, _Window] = OrderedDict()
        self._last: tuple[bytes, _Window] | None = None  # the sender admitted last
        self.replays = 0
        """Frames refused as sent before (or too old to tell)."""
        self._max_senders = max_senders

    def admit(self, sender: bytes, seq: int, redelivered: bool = False) -> bool:
        """True if (sender, seq) is new, and records it; False (counted) if seen before.

        Args:
            sender: The sender id from a verified header.
            seq: Its sequence number (from 1).
            redelivered: The transport delivers this frame again (a broker's redelivery
                after a lost acknowledgement, an entry claimed from a dead consumer): it is
                admitted and recorded, since arriving here is not the same as being handed
                to the user. The transport skips what it already handed out itself.
        """
        last = self._last
        if last is not None and last[0] == sender:
            state = last[1]  # the most recent already: no lookup, no reordering
        else:
            windows = self._senders
            known = windows.get(sender)
            if known is None:
                state = windows[sender] = _Window()
                if len(windows) > self._max_senders:
                    windows.popitem(last=False)
            else:
                state = known
                windows.move_to_end(sender)
            self._last = (sender, state)
        top = state.top
        if seq > top:
            shift = seq - top
            seen = state.seen
            if shift >= self._window:
                state.seen = 1
            elif shift != 1 or seen != self._full:  # in order with a full window: unchanged
                state.seen = ((seen << shift) | 1) & self._full
            state.top = seq
            return True
        offset = top - seq
        if offset >= self._window:
            if redelivered:
                return True
            self.replays += 1
            return False
        bit = 1 << offset
        if state.seen & bit and not redelivered:
            self.replays += 1
            return False
        state.seen |= bit
        return True
