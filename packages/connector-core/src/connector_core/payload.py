"""The two layouts of a sealed frame's payload, told apart by its last byte.

    payload = serializer(list of items) + LIST          (`send_many()`, a give-back)
    payload = count:u32 (length:u32 item){count} + ITEMS  (items serialized one by one)

`LIST` serializes a whole batch at once: the cheapest when the items are all at hand, as in
`send_many()`. `ITEMS` carries items that were serialized one at a time, each when its
`send()` was called (so a serialization error is that call's), and sealed together later
by the transport's flusher while it was busy: one signature for the run, however many
`send()` calls made it. The layout byte is inside the signed payload, so only a member of
the connection chooses it. It comes last so that a pickled list, which ends at its STOP
opcode whatever follows, is read in place.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Final

__all__ = ["ITEMS", "LIST", "PayloadError", "items_body", "read_items"]

LIST: Final = b"\x01"
"""Last byte of a payload that is the serializer's output for a list of items."""

ITEMS: Final = b"\x02"
"""Last byte of a payload of items serialized one by one, each behind its length."""

_LIST = LIST[0]
_ITEMS = ITEMS[0]
_U32 = struct.Struct("!I")
_pack = _U32.pack
_unpack_from = _U32.unpack_from
_VIEW_FROM = 64 * 1024  # payloads from this size are read through a view, never sliced


class PayloadError(ValueError):
    """A verified payload is in neither layout, or its `ITEMS` framing does not parse."""


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


def read_items(payload: bytes, loads: Callable[[Any], Any], in_place: bool) -> list[Any]:
    """Deserializes the items of a verified payload in either layout.

    Args:
        payload: The payload of an opened frame.
        loads: The serializer's `loads`.
        in_place: `loads` accepts a buffer and ignores bytes after its input (pickle does):
            the payload is then read without copying it.

    Raises:
        PayloadError: If the payload is in neither layout or its framing does not parse.
        Exception: Whatever `loads` raises for an item it cannot decode.
    """
    end = len(payload) - 1
    if end < 0:
        raise PayloadError("the payload is empty")
    layout = payload[end]
    if layout == _LIST:
        batch = loads(payload) if in_place else loads(payload[:end])
        if not isinstance(batch, list):
            raise PayloadError(f"the payload holds a {type(batch).__name__}, not a list")
        return batch
    if layout != _ITEMS:
        raise PayloadError(f"the payload's layout byte is {layout}, neither LIST nor ITEMS")
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
