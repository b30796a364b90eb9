"""Large items without copies: pickle protocol 5 with the large buffers out of band.

When a channel's serializer is pickle, `send()` pickles each item with protocol 5
(`dumps_lending`). An item that holds a buffer of `LEND_BYTES`
or more (the data of a numpy array, or of any object that pickles through
`pickle.PickleBuffer`), and a top-level `bytes`, `bytearray` or `memoryview` item that
large (carried whole as one buffer), has its buffers taken out of the pickle stream: all
of them, once one is that large. It is sealed as a frame of its own in the `BUFFERS`
layout (`connector_core.payload`), the buffers beside it as separate transport parts,
never joined in, when the send transport can carry them
(`connector_core.transport.BufferSender`): the tag covers them, in order, and the receiver
checks them against the signed length table before it keeps anything. A transport that
takes frames whole gets them inside the frame instead (layout `INLINE`), joined once with
its header and tag: one copy, where pickling them in band and sealing made two. Every other
item is pickled once, exactly as `PickleSerializer` does, and takes the usual path.

What arrives: `bytes` as `bytes`, `bytearray` as `bytearray`, a `memoryview` as `bytes` (a
memoryview does not pickle otherwise; this path sends small ones too, as `bytes`), a numpy
array as a numpy array, writable when it was writable where it was sent (its buffer then
copied once more into a `bytearray` on arrival).

Lent or copied: a read-only buffer (`bytes`, a read-only memoryview, a numpy array with
`writeable=False`) is lent: the transport hashes and sends it in place, so it must not
change while the channel may still send it (until `close()` returns; `bytes` never
change). A writable one (`bytearray`, a writable array or memoryview) is copied once, when
`send()` is called, as pickling it always was: changing it after `send()` returns changes
nothing that arrives (and cannot break its signature).

Paths that move a frame as one piece (a closing sender's leftovers handed to the
rendezvous) fold such a frame into an ordinary one with the buffers inside (`fold`, layout
`INLINE`); nothing accepted is lost.
"""

from __future__ import annotations

import pickle
import secrets
from collections.abc import Callable
from typing import Any, Final

from connector_core.codec import Codec
from connector_core.envelope import SENDER_SIZE
from connector_core.exceptions import ChannelSerializationError
from connector_core.payload import Buffer, WithBuffers, inline, lent_payload, with_buffers
from connector_core.serializers import PickleSerializer

__all__ = ["LEND_BYTES", "dumps_lending", "fold", "send_dumps"]

LEND_BYTES: Final = 64 * 1024
"""Buffers from this size travel out of band (smaller ones stay in the pickle stream)."""

_WHOLE: Final[dict[type, type]] = {bytes: bytes, bytearray: bytearray, memoryview: bytes}
"""Top-level item types carried whole as one buffer, and the type each arrives as."""


class _Whole:
    """A top-level bytes-like item, pickled as one out-of-band buffer of the type it arrives as.

    (`bytes` itself never reaches `reducer_override` or a `buffer_callback`.)
    """

    __slots__ = ("data", "kind")

    def __init__(self, data: Any, kind: type) -> None:
        self.data = data
        self.kind = kind

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (self.kind, (pickle.PickleBuffer(self.data),))


def dumps_lending(item: Any) -> bytes:
    """Pickles `item` (protocol 5) with its buffers out of band if one has `LEND_BYTES`.

    Args:
        item: Any picklable object.

    Returns:
        The pickle, as `PickleSerializer.dumps` makes it, when no buffer went out of band;
        else the `BUFFERS` payload, a `WithBuffers` holding the buffers (lent when
        read-only, else copied).

    Raises:
        ChannelSerializationError: If `item` cannot be pickled.
    """
    try:
        kind = _WHOLE.get(type(item))
        data = item if kind is None else _whole(item, kind)
        if type(data) is _Whole:
            return _lent(data)
        try:
            return pickle.dumps(data, protocol=5, buffer_callback=_in_band)
        except _Large:
            return _lent(data)
    except Exception as exc:
        raise ChannelSerializationError(
            f"cannot serialize {type(item).__name__} item with the pickle serializer: {exc}"
        ) from exc


class _Large(Exception):
    """A buffer of `LEND_BYTES` or more was found: the item is pickled again, lending."""


def _in_band(buffer: pickle.PickleBuffer) -> bool:
    """The first pass's `buffer_callback`: small buffers stay in band, a large one stops it.

    So an item without large buffers is pickled once, with no list to collect into.
    """
    if buffer.raw().nbytes < LEND_BYTES:
        return True
    raise _Large


def _whole(item: Any, kind: type) -> Any:
    """A top-level bytes-like item as it is pickled: whole, out of band when large."""
    view = memoryview(item) if type(item) is memoryview else None
    if (len(item) if view is None else view.nbytes) >= LEND_BYTES:
        return _Whole(item, kind)
    return item if view is None else bytes(view)  # a small memoryview travels as bytes


def _lent(data: Any) -> bytes:
    """The `BUFFERS` payload of `data`, pickled with every buffer out of band.

    Read-only buffers are lent, writable ones copied (`bytes`).
    """
    found: list[pickle.PickleBuffer] = []
    stream = pickle.dumps(data, protocol=5, buffer_callback=found.append)
    views = [buffer.raw() for buffer in found]
    buffers: list[Buffer] = [view if view.readonly else view.tobytes() for view in views]
    return lent_payload(stream, buffers, [not view.readonly for view in views])


def send_dumps(codec: Codec, sender: object) -> Callable[[Any], bytes]:
    """The serializer a channel's `send()` uses: lending (`dumps_lending`) when it can.

    It can when the serializer is pickle: a `BufferSender` then carries the buffers beside
    the frame, any other transport inside it (`Sealer.lent_aside`). Else it is
    `codec.dumps_item`. Either raises `ChannelSerializationError`.

    Args:
        codec: The channel's codec.
        sender: The channel's send transport (or None).
    """
    if type(codec.serializer) is not PickleSerializer or sender is None:
        return codec.dumps_item
    return dumps_lending


def fold(codec: Codec, frames: list[bytes]) -> list[bytes]:
    """`frames` as single pieces: each one with buffers beside it sealed again, `INLINE`.

    For the paths that move frames elsewhere as they are (a closing sender's leftovers):
    each such frame is opened (it is this process's own) and sealed again by a party of
    its own, its buffers inside. The others are returned as they are.

    Args:
        codec: The connection's codec.
        frames: Sealed frames, some of them perhaps `WithBuffers`.
    """
    party, seq, folded = secrets.token_bytes(SENDER_SIZE), 0, []
    for frame in frames:
        if type(frame) is WithBuffers:
            header, payload = codec.open(frame, frame.buffers)
            seq += 1
            payload = inline(with_buffers(payload, frame.buffers))
            frame = codec.reseal(payload, party, seq, header.items)
        folded.append(frame)
    return folded
