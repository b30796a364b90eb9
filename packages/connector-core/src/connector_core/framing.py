"""Batch framing: many frames in one transport message, each behind its length.

    batch = count:u32 (length:u32 frame){count}

Used by every backend that sends several frames per transport message. The framing adds no
signature: every frame carries its own HMAC tag and is verified on arrival. A batch that does
not parse is forged or corrupt: `unpack_frames` raises `FramingError` and the receiver drops
it, counted, without looking at any frame in it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

__all__ = ["FRAME_OVERHEAD", "HEADER_SIZE", "FramingError", "pack_frames", "unpack_frames"]

_U32 = struct.Struct("!I")

HEADER_SIZE: Final = _U32.size
"""Bytes of the batch header (the frame count)."""
FRAME_OVERHEAD: Final = _U32.size
"""Bytes the framing adds per frame (its length)."""


class FramingError(ValueError):
    """A transport message is not a well-formed batch of frames."""


def pack_frames(frames: Sequence[bytes]) -> bytes:
    """Returns one batch holding `frames`, in order."""
    pack = _U32.pack
    parts = [pack(len(frames))]
    append = parts.append
    for frame in frames:
        append(pack(len(frame)))
        append(frame)
    return b"".join(parts)


def unpack_frames(batch: bytes | memoryview) -> list[bytes]:
    """Returns the frames of a batch made by `pack_frames`.

    Raises:
        FramingError: If the batch is truncated, has stray bytes or a wrong count.
    """
    end = len(batch)
    if end < HEADER_SIZE:
        raise FramingError("the message is too short for a batch header")
    unpack_from = _U32.unpack_from
    (count,) = unpack_from(batch, 0)
    if count > (end - HEADER_SIZE) // FRAME_OVERHEAD:
        raise FramingError(f"the batch claims {count} frames but cannot hold them")
    offset = HEADER_SIZE
    frames: list[bytes] = []
    append = frames.append
    for _ in range(count):
        if offset + FRAME_OVERHEAD > end:
            raise FramingError("the batch ends inside a frame header")
        (size,) = unpack_from(batch, offset)
        offset += FRAME_OVERHEAD
        if offset + size > end:
            raise FramingError("the batch ends inside a frame")
        append(bytes(batch[offset : offset + size]))
        offset += size
    if offset != end:
        raise FramingError(f"{end - offset} stray bytes after the last frame")
    return frames
