"""The body of one AMQP data message: many frames (signed, serialized items) in a row.

    body  = MAGIC count:u32 (length:u32 frame){count}

A frame is what `connector_core.serde.Codec` makes of one item; the envelope adds no
signature of its own, because every frame carries its HMAC tag. A body that does not parse
is a forged or corrupt message: the receiver counts it, dead-letters it and goes on.

Besides data (`type="batch"`) the data path carries one more kind of message:
`type="eos"`, a sender's end-of-stream marker, published after everything it sent was
confirmed (its `app_id` is the sender id, its body empty).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

__all__ = [
    "BATCH",
    "EOS",
    "FRAME_OVERHEAD",
    "MAGIC",
    "OVERHEAD",
    "EnvelopeError",
    "pack",
    "unpack",
]

MAGIC = b"CNB1"
BATCH = "batch"
EOS = "eos"

_U32 = struct.Struct("!I")

FRAME_OVERHEAD = _U32.size
"""Bytes the envelope adds per frame (its length)."""
OVERHEAD = len(MAGIC) + _U32.size + FRAME_OVERHEAD
"""Bytes the envelope adds to a message of one frame."""


class EnvelopeError(ValueError):
    """A message body is not a well-formed batch of frames."""


def pack(frames: Sequence[bytes]) -> bytes:
    """Returns the body that carries `frames`, in order."""
    parts = [MAGIC, _U32.pack(len(frames))]
    for frame in frames:
        parts.append(_U32.pack(len(frame)))
        parts.append(frame)
    return b"".join(parts)


def unpack(body: bytes) -> list[bytes]:
    """Returns the frames of a body made by `pack`.

    Raises:
        EnvelopeError: If the body is not a well-formed batch.
    """
    if body[:4] != MAGIC:
        raise EnvelopeError("the message does not start with the connector batch marker")
    view = memoryview(body)
    if len(body) < 8:
        raise EnvelopeError("the message is too short for a batch header")
    (count,) = _U32.unpack_from(body, 4)
    offset = 8
    frames: list[bytes] = []
    for _ in range(count):
        if offset + 4 > len(body):
            raise EnvelopeError("the batch ends inside a frame header")
        (size,) = _U32.unpack_from(body, offset)
        offset += 4
        if offset + size > len(body):
            raise EnvelopeError("the batch ends inside a frame")
        frames.append(bytes(view[offset : offset + size]))
        offset += size
    if offset != len(body):
        raise EnvelopeError(f"{len(body) - offset} stray bytes after the last frame")
    return frames
