"""Serializers: how an item becomes the bytes of a frame's payload, and back.

Pickle (the default) carries any picklable object between trusted processes; JSON is the safe
choice for a peer you would not let run code in your process. Both raise on items they cannot
carry; `Codec` turns that into `ChannelSerializationError`.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from functools import partial
from typing import Any, Final, Protocol, runtime_checkable

__all__ = [
    "PROTOCOL",
    "SERIALIZERS",
    "JsonSerializer",
    "PickleSerializer",
    "Serializer",
    "direct_functions",
    "get_serializer",
]


@runtime_checkable
class Serializer(Protocol):
    """Turns items into bytes and back. Implementations must be picklable."""

    name: str

    def dumps(self, item: Any) -> bytes:
        """Serializes `item`; raises any exception when it cannot.

        Args:
            item: The item to serialize.

        Returns:
            The serialized bytes.
        """
        ...

    def loads(self, data: bytes) -> Any:
        """Deserializes `data`; raises any exception when it cannot.

        Args:
            data: Bytes made by `dumps`.

        Returns:
            The item.
        """
        ...


PROTOCOL: Final = pickle.HIGHEST_PROTOCOL
"""The pickle protocol `PickleSerializer` writes."""


class PickleSerializer:
    """Pickle: any picklable Python object. Only safe together with signing (the default)."""

    name = "pickle"

    def dumps(self, item: Any) -> bytes:
        """Pickles `item` with the highest protocol.

        Args:
            item: Any picklable object.

        Returns:
            The pickle.

        Raises:
            TypeError: If `item` cannot be pickled (pickle may also raise
                `pickle.PicklingError`, or whatever an object's `__reduce__` raises).
        """
        return pickle.dumps(item, protocol=PROTOCOL)

    def loads(self, data: bytes) -> Any:
        """Unpickles `data`.

        Args:
            data: A pickle; only ever called on frames whose signature verified.

        Returns:
            The item.

        Raises:
            pickle.UnpicklingError: If `data` is not a valid pickle.
        """
        return pickle.loads(data)  # only ever called on frames whose tag verified

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(self.name)


class JsonSerializer:
    """JSON (UTF-8): dicts, lists, strings, numbers, booleans and None. Runs no code on load.

    Tuples arrive as lists; anything JSON cannot represent raises on send.
    """

    name = "json"

    def dumps(self, item: Any) -> bytes:
        """Encodes `item` as compact UTF-8 JSON (NaN and infinities are refused).

        Args:
            item: dicts with string keys, lists, tuples, strings, numbers, booleans, None.

        Returns:
            The UTF-8 encoded JSON.

        Raises:
            TypeError: If `item` holds something JSON cannot represent.
            ValueError: If `item` holds NaN or an infinity.
        """
        return json.dumps(item, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, data: bytes) -> Any:
        """Decodes UTF-8 JSON.

        Args:
            data: UTF-8 encoded JSON.

        Returns:
            The decoded item.

        Raises:
            UnicodeDecodeError: If `data` is not UTF-8.
            json.JSONDecodeError: If `data` is not JSON.
        """
        return json.loads(data.decode())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(self.name)


SERIALIZERS: dict[str, type[PickleSerializer] | type[JsonSerializer]] = {
    "pickle": PickleSerializer,
    "json": JsonSerializer,
}
"""The built-in serializers by name (the `CONNECTOR_SERIALIZER` setting takes these names)."""


def get_serializer(name: str) -> Serializer:
    """Returns a built-in serializer by name.

    Args:
        name: `"pickle"` or `"json"` (the keys of `SERIALIZERS`).

    Returns:
        A new serializer.

    Raises:
        ValueError: If `name` is not a built-in serializer.
    """
    try:
        return SERIALIZERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown serializer {name!r}: use one of {sorted(SERIALIZERS)} "
            "or pass an object with dumps()/loads()"
        ) from None


def direct_functions(
    serializer: Serializer,
) -> tuple[Callable[[Any], bytes], Callable[[Any], Any], bool]:
    """`serializer`'s dumps and loads, as direct as they can be, and whether loads reads in place.

    For a `PickleSerializer`, pickle's own functions (no wrapper call per item), and True:
    pickle reads a buffer in place and ignores bytes after its STOP opcode. For any other
    serializer, its methods, and False.

    Args:
        serializer: The serializer.
    """
    if type(serializer) is PickleSerializer:
        return partial(pickle.dumps, protocol=PROTOCOL), pickle.loads, True
    return serializer.dumps, serializer.loads, False
