"""The signed entries of the data and control streams.

Every entry a party adds holds one field, `e`, sealed in core's envelope
(`connector_core.envelope`):

    e    = tag | header | kind:u8 ms:u64 seq:u64 | body
    tag  = HMAC-SHA256(key, header | kind | id | body)      (absent when signing is off)

The header names the connection, the party (sender or receiver id) and its sequence number;
`ms-seq` is the stream id the entry was added at. A reader checks the tag, the connection and
that the id inside is the id the entry has: an entry copied to the stream again lands at a
newer id and is dropped, so a captured entry cannot be replayed, and a party without the key
can add nothing that verifies. The header's item count is also what the entry counts in the
connection's `held` (`connector_redis.scripts`): no unsigned field of an entry is read.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from connector_core.codec import Codec, MessageRejectedError
from connector_core.envelope import HEADER, VERSION
from connector_redis.keys import StreamId

__all__ = [
    "CLOSE",
    "DATA",
    "END",
    "JOIN",
    "LEAVE",
    "MARKER",
    "OPEN",
    "Entry",
    "open_entry",
    "seal_entry",
]

DATA: Final = 0
"""Data: the body is a batch of frames (`connector_core.framing`)."""
MARKER: Final = 1
"""A sender's end marker: after every item it sent."""
OPEN: Final = 2
"""Control: a sender joined; body: `shared:u8` (its connector was pickled)."""
CLOSE: Final = 3
"""Control: a sender closed; body: the id of its end marker."""
JOIN: Final = 4
"""Control: a receiver joined; body: the receiver's id."""
LEAVE: Final = 5
"""Control: a receiver left (or was found dead); body: that receiver's id."""
END: Final = 6
"""Control: the grace period after the last close passed; body: that close's id."""

_ID = struct.Struct("!BQQ")
_MARK = struct.Struct("!QQ")


class Entry(NamedTuple):
    """A verified entry."""

    kind: int
    party: bytes
    seq: int
    items: int
    body: bytes


def seal_entry(
    codec: Codec, party: bytes, seq: int, kind: int, entry_id: StreamId, body: bytes, items: int
) -> bytes:
    """Returns the `e` field of an entry to be added at `entry_id`.

    Args:
        codec: The connection's codec (bound to it).
        party: The adding party's id (8 bytes).
        seq: The party's sequence number for this entry (from 1).
        kind: What the entry is (`DATA`, `MARKER`, `OPEN`, ...).
        entry_id: The stream id the entry will be added at.
        body: What it carries.
        items: How many items it carries.
    """
    header = HEADER.pack(VERSION, codec.connection, party, seq, items)
    return codec.sign(header + _ID.pack(kind, *entry_id) + body)


def open_entry(codec: Codec, raw: bytes, entry_id: StreamId) -> Entry:
    """Verifies the `e` field of the entry at `entry_id`.

    Raises:
        MessageRejectedError: If it does not verify, belongs to another connection, or was
            sealed for another id (a copy).
    """
    header, payload = codec.open(raw)
    if len(payload) < _ID.size:
        raise MessageRejectedError("the entry is too short for its id")
    kind, ms, seq = _ID.unpack_from(payload)
    if (ms, seq) != entry_id:
        raise MessageRejectedError(
            f"an entry sealed for id {ms}-{seq} was found at {entry_id[0]}-{entry_id[1]} "
            "(a copy: replayed)"
        )
    body = payload[_ID.size :]  # an entry's frames are kept and may be handed on: bytes
    return Entry(kind, header.sender, header.seq, header.items, bytes(body))


def marker_body(entry_id: StreamId) -> bytes:
    """The body of a `CLOSE` entry: the id of the sender's end marker."""
    return _MARK.pack(*entry_id)


def marker_of(body: bytes) -> StreamId:
    """The end marker id in a `CLOSE` entry's body.

    Raises:
        MessageRejectedError: If the body is not an id.
    """
    if len(body) != _MARK.size:
        raise MessageRejectedError("a close entry without its marker id")
    ms, seq = _MARK.unpack(body)
    return ms, seq
