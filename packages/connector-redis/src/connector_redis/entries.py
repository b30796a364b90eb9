"""The signed entries of the data and control streams.

Every entry a party adds holds a field `e`, sealed in core's envelope
(`connector_core.envelope`):

    e    = tag | header | kind:u8 ms:u64 seq:u64 | body
    tag  = HMAC-SHA256(key, header | kind | id | body)      (absent when signing is off)

The header names the connection, the party (sender or receiver id) and its sequence number;
`ms-seq` is the stream id the entry was added at. A reader checks the tag, the connection
and that the id inside is the id the entry has: an entry copied to the stream again lands at
a newer id and is dropped, so a captured entry cannot be replayed, and a party without the
key can add nothing that verifies.

A data entry's frames are in a second field, `b` (`connector_core.framing.pack_frames`), and
the body of its `e` is their digest (`frame_digest`): the frame count, and each frame's
length and own tag. Every frame is signed by core already, so the entry's tag covers its
frames through their tags, and a 16 MiB item is hashed once on each side, not twice. A
reader verifies `e`, splits `b` and compares its digest with the signed one (`open_data`)
before it looks at any frame; core's `Verifier` then checks each frame. The header's item
count is also what the entry counts in the connection's `held` (`connector_redis.scripts`):
no unsigned field of an entry is read.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Sequence
from typing import Final, NamedTuple

from connector_core.codec import TAG_SIZE, Codec, MessageRejectedError
from connector_core.envelope import HEADER, VERSION
from connector_core.framing import FramingError, unpack_frames
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
    "FramesRejectedError",
    "frame_digest",
    "open_data",
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
_U32 = struct.Struct("!I")


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


def frame_digest(codec: Codec, frames: Sequence[bytes]) -> bytes:
    """The body of a data entry's `e`: the count of its frames, each one's length and tag.

    Args:
        codec: The connection's codec (unsigned: lengths only, as frames carry no tag).
        frames: The entry's frames, sealed by core.
    """
    tag_size = TAG_SIZE if codec.signed else 0
    pack = _U32.pack
    return b"".join([pack(len(frames)), *(pack(len(f)) + f[:tag_size] for f in frames)])


class FramesRejectedError(MessageRejectedError):
    """A data entry whose `e` verified holds frames that are not the ones it was sealed with."""

    def __init__(self, entry: Entry, reason: str) -> None:
        super().__init__(reason)
        self.entry = entry
        """The verified entry (its item count is what the stream's room counted for it)."""


def open_data(
    codec: Codec, fields: dict[bytes, bytes], entry_id: StreamId
) -> tuple[Entry, list[bytes]]:
    """Verifies an entry of the data stream; returns it and, for a data entry, its frames.

    The frames are split out of `b` only once `e` verified, and returned only if their
    digest is the signed one; each is still to be checked by core's `Verifier`.

    Raises:
        MessageRejectedError: If `e` is missing or does not verify (`open_entry`).
        FramesRejectedError: If a data entry's `b` is missing, does not parse, or holds
            other frames than it was sealed with.
    """
    raw = fields.get(b"e")
    if raw is None:
        raise MessageRejectedError("the entry has no envelope (not written by a party)")
    entry = open_entry(codec, raw, entry_id)
    if entry.kind != DATA:
        return entry, []
    batch = fields.get(b"b")
    if batch is None:
        raise FramesRejectedError(entry, "a data entry without its frames")
    try:
        frames = unpack_frames(batch)
    except FramingError as exc:
        raise FramesRejectedError(entry, f"a data entry whose frames do not parse: {exc}") from exc
    if not hmac.compare_digest(frame_digest(codec, frames), entry.body):
        raise FramesRejectedError(entry, "a data entry holds other frames than it was sealed with")
    return entry, frames


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
