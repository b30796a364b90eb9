"""The layouts of a sealed frame's payload, told apart by its last byte.

    payload = serializer(list of items) + LIST          (`send_many()`, a give-back)
    payload = count:u32 (length:u32 item){count} + ITEMS  (items serialized one by one)
    payload = count:u32 (length:u64){count} stream + BUFFERS           (one item, buffers beside)
    payload = count:u32 (length:u64){count} stream buffer{count} + INLINE  (the same, one piece)

`LIST` serializes a whole batch at once: the cheapest when the items are all at hand, as in
`send_many()`. `ITEMS` carries items that were serialized one at a time, each when its
`send()` was called (so a serialization error is that call's), and sealed together later
by the transport's flusher while it was busy: one signature for the run, however many
`send()` calls made it. The layout byte is inside the signed payload, so only a member of
the connection chooses it. It comes last so that a pickled list, which ends at its STOP
opcode whatever follows, is read in place.

`BUFFERS` and `INLINE` carry one item pickled with protocol 5 whose large buffers are out
of band (`connector_core.buffers`): `stream` is the pickle, the table gives each buffer's
length. With `BUFFERS` the buffers travel beside the frame, as further transport parts that
are never joined in (`WithBuffers`), and the frame's tag covers them in order; the receiver
checks the parts against the signed table (`with_buffers`) before it keeps anything.
`INLINE` holds them after the stream, for the paths that move a frame as one piece
(`inline`).
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

__all__ = [
    "BUFFERS",
    "INLINE",
    "ITEMS",
    "LIST",
    "Buffer",
    "Payload",
    "PayloadError",
    "WithBuffers",
    "inline",
    "inline_pieces",
    "items_body",
    "lent_payload",
    "payload_of",
    "read_items",
    "with_buffers",
]

LIST: Final = b"\x01"
"""Last byte of a payload that is the serializer's output for a list of items."""

ITEMS: Final = b"\x02"
"""Last byte of a payload of items serialized one by one, each behind its length."""

BUFFERS: Final = b"\x03"
"""Last byte of a payload of one item whose buffers travel beside the frame."""

INLINE: Final = b"\x04"
"""Last byte of a payload of one item whose buffers follow its stream in the payload."""

Buffer: TypeAlias = bytes | bytearray | memoryview
"""A buffer that travels out of band (a byte-formatted, contiguous one)."""

Payload: TypeAlias = bytes | memoryview
"""A verified payload, still serialized: a large one is a read-only view of the frame it
arrived in (`connector_core.codec.Codec.open`), which keeps that frame alive."""

_LIST = LIST[0]
_ITEMS = ITEMS[0]
_BUFFERS = BUFFERS[0]
_INLINE = INLINE[0]
_U32 = struct.Struct("!I")
_pack = _U32.pack
_unpack_from = _U32.unpack_from
_pack_size = struct.Struct("!Q").pack
_unpack_sizes = struct.Struct("!Q").unpack_from
_WRITABLE = 1 << 63  # a table entry's top bit: the buffer was writable where it was pickled
_VIEW_FROM = 64 * 1024  # payloads from this size are read through a view, never sliced


class PayloadError(ValueError):
    """A verified payload is in neither layout, or its `ITEMS` framing does not parse."""


class WithBuffers(bytes):
    """Bytes whose out-of-band buffers travel beside them, as further transport parts.

    A sealed frame (`Sealer.lent`) or a verified payload (`with_buffers`) in the `BUFFERS`
    layout: the bytes are small (header, table, pickle stream), the `buffers` large.
    """

    buffers: list[Buffer]
    """The buffers, in the order of the table (and of the tag)."""

    def nbytes(self) -> int:
        """Bytes in all: these and the buffers'."""
        return len(self) + sum(map(_size, self.buffers))


def _size(buffer: Buffer) -> int:
    return buffer.nbytes if isinstance(buffer, memoryview) else len(buffer)


def lent_payload(
    stream: bytes, buffers: list[Buffer], writable: Sequence[bool] = ()
) -> WithBuffers:
    """The `BUFFERS` payload of one item pickled as `stream` with `buffers` out of band.

    Args:
        stream: The pickle stream (protocol 5).
        buffers: Its out-of-band buffers, in order (at least one).
        writable: Optional; which buffers were writable where they were pickled (the top
            bit of their table entry): they are handed to the unpickler writable.
    """
    flags = [_WRITABLE if flag else 0 for flag in writable] or [0] * len(buffers)
    entries = (_size(buffer) | flag for buffer, flag in zip(buffers, flags, strict=True))
    pieces = [_pack(len(buffers)), *map(_pack_size, entries)]
    payload = WithBuffers(b"".join([*pieces, stream, BUFFERS]))
    payload.buffers = buffers
    return payload


def payload_of(frame: Buffer, start: int) -> Payload:
    """The payload of a verified frame: its bytes from `start`.

    A large frame (over 64 KiB) that cannot change, `bytes` or a read-only view (of Ray's
    object store, say), gives a view of itself, not a copy; a small one, or one that could
    change after it was verified (a `bytearray`), gives `bytes` of its own.

    Args:
        frame: The frame, its tag verified.
        start: Where its payload starts.
    """
    if len(frame) <= _VIEW_FROM:
        return frame[start:] if type(frame) is bytes else bytes(frame[start:])
    if _read_only(frame):
        return memoryview(frame)[start:]
    return bytes(memoryview(frame)[start:])


def _table(payload: Payload, end: int) -> list[int]:
    """The table entries (length, top bit: writable) of a `BUFFERS` or `INLINE` payload."""
    if end < 4:
        raise PayloadError("the payload ends inside its buffer count")
    (count,) = _unpack_from(payload, 0)
    if count < 1 or 4 + 8 * count > end:
        raise PayloadError(f"the payload claims {count} buffers but cannot list them")
    return [_unpack_sizes(payload, 4 + 8 * index)[0] for index in range(count)]


def with_buffers(payload: Payload, parts: Sequence[Buffer]) -> WithBuffers:
    """A verified `BUFFERS` payload with the `parts` that arrived beside its frame.

    Args:
        payload: The payload, its frame's tag verified over it and `parts`.
        parts: The buffers that arrived after the frame, in order.

    Raises:
        PayloadError: If the payload is not in the `BUFFERS` layout, or `parts` are not as
            many and as long as its signed table says.
    """
    end = len(payload) - 1
    if end < 0 or payload[end] != _BUFFERS:
        raise PayloadError("buffers came beside a frame whose payload does not list them")
    entries = _table(payload, end)
    if len(entries) != len(parts):
        raise PayloadError(f"the signed table lists {len(entries)} buffers, {len(parts)} came")
    for index, (entry, part) in enumerate(zip(entries, parts, strict=True)):
        if _size(part) != (size := entry & ~_WRITABLE):
            raise PayloadError(f"buffer {index} is {_size(part)} bytes, its table says {size}")
    checked = WithBuffers(payload)
    checked.buffers = list(parts)
    return checked


def inline(payload: Payload) -> Payload:
    """`payload` in one piece: the buffers of a `WithBuffers` joined in (layout `INLINE`).

    Anything else is returned as it is.

    Args:
        payload: A verified payload.
    """
    if type(payload) is not WithBuffers:
        return payload
    return b"".join(inline_pieces(payload))


def inline_pieces(payload: WithBuffers) -> list[Buffer]:
    """The pieces of `payload` in the `INLINE` layout, in order: joined, they are `inline`'s.

    Args:
        payload: A `BUFFERS` payload with its buffers.
    """
    return [payload[:-1], *payload.buffers, INLINE]


def _read_only(buffer: Buffer) -> bool:
    return buffer.readonly if isinstance(buffer, memoryview) else type(buffer) is bytes


def _load_lent(payload: Payload, end: int) -> Any:
    """Unpickles the one item of a `BUFFERS` or `INLINE` payload (layout byte at `end`)."""
    entries = _table(payload, end)
    sizes = [entry & ~_WRITABLE for entry in entries]
    start = 4 + 8 * len(sizes)
    view = memoryview(payload)
    if payload[end] == _BUFFERS:
        buffers: list[Buffer] | None = getattr(payload, "buffers", None)
        if buffers is None:
            raise PayloadError("the payload's out-of-band buffers did not come with it")
        buffers = [  # received read-only: what was writable is made so (one copy)
            bytearray(buffer) if entry & _WRITABLE and _read_only(buffer) else buffer
            for buffer, entry in zip(buffers, entries, strict=True)
        ]
        stop = end
    else:
        stop = end - sum(sizes)
        if stop < start:
            raise PayloadError("the payload is shorter than the buffers its table lists")
        buffers, offset = [], stop
        for entry, size in zip(entries, sizes, strict=True):  # as if they came beside it
            part = view[offset : offset + size]
            buffers.append(bytearray(part) if entry & _WRITABLE else part)
            offset += size
    return pickle.loads(view[start:stop], buffers=buffers)


def items_body(payloads: Sequence[bytes]) -> list[bytes]:
    """The pieces of an `ITEMS` payload holding `payloads`, in order, to be joined.

    Args:
        payloads: Items, each already serialized.
    """
    pieces = [_pack(len(payloads))]
    append = pieces.append
    for payload in payloads:
        append(_pack(len(payload)))
        append(payload)
    append(ITEMS)
    return pieces


def read_items(payload: Payload, loads: Callable[[Any], Any], in_place: bool) -> list[Any]:
    """Deserializes the items of a verified payload in either layout.

    Args:
        payload: The payload of an opened frame.
        loads: The serializer's `loads`.
        in_place: `loads` accepts a buffer and ignores bytes after its input (pickle does):
            the payload is then read without copying it. Only then are the layouts with
            out-of-band buffers read (they are pickle's).

    Raises:
        PayloadError: If the payload is in neither layout or its framing does not parse.
        Exception: Whatever `loads` raises for an item it cannot decode.
    """
    if not in_place and type(payload) is memoryview:
        payload = bytes(payload)  # such a `loads` (JSON's) takes bytes only
    end = len(payload) - 1
    if end < 0:
        raise PayloadError("the payload is empty")
    layout = payload[end]
    if layout == _LIST:
        batch = loads(payload) if in_place else loads(payload[:end])
        if not isinstance(batch, list):
            raise PayloadError(f"the payload holds a {type(batch).__name__}, not a list")
        return batch
    if layout in (_BUFFERS, _INLINE):
        if not in_place:
            raise PayloadError("only the pickle serializer reads out-of-band buffers")
        return [_load_lent(payload, end)]
    if layout != _ITEMS:
        raise PayloadError(f"the payload's layout byte is {layout}, in no known layout")
    if end < 4:
        raise PayloadError("the payload ends inside its item count")
    (count,) = _unpack_from(payload, 0)
    if count > (end - 4) // 4:
        raise PayloadError(f"the payload claims {count} items but cannot hold them")
    data: bytes | memoryview = memoryview(payload) if in_place and end >= _VIEW_FROM else payload
    items: list[Any] = []
    append = items.append
    offset = 4
    for _ in range(count):
        if offset + 4 > end:
            raise PayloadError("the payload ends inside an item's length")
        (size,) = _unpack_from(payload, offset)
        offset += 4
        stop = offset + size
        if stop > end:
            raise PayloadError("the payload ends inside an item")
        append(loads(data[offset:stop]))
        offset = stop
    if offset != end:
        raise PayloadError(f"{end - offset} stray bytes after the last item")
    return items
