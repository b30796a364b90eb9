"""Serialization and signing for channels that carry bytes between processes.

Every cross-process channel turns an item into one *frame*:

    frame = tag + payload        (signed, the default)
    frame = payload              (signing switched off in settings)

`payload` is the serializer's output (pickle by default, JSON as the safe choice) and `tag` is
the 32-byte HMAC-SHA256 of the payload under the connector's key. The key is random per
connector (or the shared secret from settings) and travels inside the connector when it is
pickled, so every legitimate participant has it and nobody else does. A frame whose tag does
not verify is dropped *before* its payload is deserialized: a foreign peer cannot make us
unpickle anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import secrets
from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

from connector_core.channel import CHAN_MAXSIZE, Channel
from connector_core.exceptions import (
    ChannelClosedError,
    ChannelDecodeError,
    ChannelError,
    ChannelSerializationError,
)

__all__ = [
    "SERIALIZERS",
    "Codec",
    "JsonSerializer",
    "MessageRejectedError",
    "PickleSerializer",
    "SerdeChannel",
    "Serializer",
    "get_serializer",
]

_log = logging.getLogger(__name__)

_BLOCK = 64  # SHA-256's block size in bytes

TAG_SIZE = 32
"""Length in bytes of the HMAC-SHA256 tag that prefixes a signed frame."""


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
        return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)

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


class MessageRejectedError(Exception):
    """A received frame failed verification; it is dropped and counted, never raised to users."""


class Codec:
    """Encodes items into (optionally signed) frames and decodes them back.

    Picklable: the key travels with it, so copies in other processes verify each other.
    """

    __slots__ = ("_inner", "_key", "_outer", "_warned_unsigned", "serializer")

    def __init__(self, serializer: Serializer | None = None, key: bytes | None = None) -> None:
        """Creates a codec.

        Args:
            serializer: Optional; defaults to `PickleSerializer`.
            key: Optional; the HMAC key. `None` switches signing off.

        Raises:
            TypeError: If the serializer lacks `dumps`/`loads` or the key is not bytes.
            ValueError: If the key is shorter than 16 bytes.
        """
        serializer = serializer if serializer is not None else PickleSerializer()
        if not isinstance(serializer, Serializer):
            raise TypeError(
                f"serializer {serializer!r} must have name, dumps(item) and loads(data)"
            )
        if key is not None:
            if not isinstance(key, bytes):
                raise TypeError("the signing key must be bytes")
            if len(key) < 16:
                raise ValueError("the signing key must be at least 16 bytes long")
        self.serializer = serializer
        self._set_key(key)
        self._warned_unsigned = False

    @classmethod
    def generate(cls, serializer: Serializer | None = None, sign: bool = True) -> Codec:
        """Returns a codec with a fresh random 32-byte key (or unsigned if `sign` is False).

        Args:
            serializer: Optional; defaults to `PickleSerializer`.
            sign: Optional; False makes an unsigned codec.

        Returns:
            The new codec.
        """
        return cls(serializer, secrets.token_bytes(32) if sign else None)

    def _set_key(self, key: bytes | None) -> None:
        # HMAC (RFC 2104) with the keyed inner and outer hash states computed once: each
        # tag then costs two hash-state copies instead of re-keying (about half the time).
        self._key = key
        if key is None:
            return
        block = key if len(key) <= _BLOCK else hashlib.sha256(key).digest()
        block = block.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def _tag(self, payload: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(payload)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    @property
    def signed(self) -> bool:
        """True when frames carry an HMAC tag."""
        return self._key is not None

    def sign(self, payload: bytes) -> bytes:
        """Returns the frame for an already serialized payload.

        Args:
            payload: The serializer's output.

        Returns:
            `tag + payload`, or `payload` itself when the codec is unsigned.
        """
        if self._key is None:
            return payload
        return self._tag(payload) + payload

    def encode(self, item: Any) -> bytes:
        """Serializes and signs one item.

        Args:
            item: The item to encode.

        Returns:
            The frame to send.

        Raises:
            ChannelSerializationError: If the serializer cannot handle `item`.
        """
        try:
            payload = self.serializer.dumps(item)
        except Exception as exc:
            raise ChannelSerializationError(
                f"cannot serialize {type(item).__name__} item with the "
                f"{self.serializer.name} serializer: {exc}"
            ) from exc
        return self.sign(payload)

    def verify(self, frame: bytes) -> bytes:
        """Checks a frame's tag and returns its payload.

        Args:
            frame: A received frame.

        Returns:
            The payload, still serialized.

        Raises:
            MessageRejectedError: If the frame is too short or its tag does not verify.
        """
        if self._key is None:
            if not self._warned_unsigned and self.serializer.name == "pickle":
                self._warn_unsigned_pickle()
            return bytes(frame)
        if len(frame) < TAG_SIZE:
            raise MessageRejectedError(f"frame of {len(frame)} bytes is shorter than a tag")
        view = memoryview(frame)
        payload = bytes(view[TAG_SIZE:])
        expected = self._tag(payload)
        if not hmac.compare_digest(expected, view[:TAG_SIZE]):
            raise MessageRejectedError("HMAC tag does not verify")
        return payload

    def _warn_unsigned_pickle(self) -> None:
        self._warned_unsigned = True
        _log.warning(
            "unpickling a message that carries no signature (sign_messages is off): any "
            "process that can reach this transport can run code here. Turn signing back on "
            "(CONNECTOR_SIGN_MESSAGES=true) or use the json serializer "
            "(CONNECTOR_SERIALIZER=json). Logged once per connector."
        )

    def decode(self, frame: bytes) -> Any:
        """Verifies and deserializes one frame.

        Args:
            frame: A received frame.

        Returns:
            The item.

        Raises:
            MessageRejectedError: If the tag does not verify (nothing was deserialized).
            ChannelDecodeError: If the tag verified but the payload does not deserialize.
        """
        payload = self.verify(frame)
        try:
            return self.serializer.loads(payload)
        except Exception as exc:
            raise ChannelDecodeError(
                f"discarded a message of {len(payload)} bytes that the {self.serializer.name} "
                f"serializer cannot decode: {exc!r}"
            ) from exc

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Codec)
            and other._key == self._key
            and other.serializer == self.serializer
        )

    def __hash__(self) -> int:
        return hash((self._key, self.serializer.name))

    def __repr__(self) -> str:
        signed = "signed" if self.signed else "unsigned"
        return f"Codec({self.serializer.name}, {signed})"

    def __getstate__(self) -> tuple[Serializer, bytes | None]:
        return (self.serializer, self._key)

    def __setstate__(self, state: tuple[Serializer, bytes | None]) -> None:
        self._warned_unsigned = False
        self.serializer = state[0]
        self._set_key(state[1])


class SerdeChannel(Channel, ABC):
    """SerdeChannel base class for channels that use serialised messages.

    Users call `send(item)` and `recv()`; the channel serializes and signs each item into a
    frame with its `codec`. Backends implement only the bytes level: `send_bytes(frame)` and
    `recv_bytes()`. (The reference API named those two `send`/`recv`; they are separate
    methods here so that `send` is typed for items and `send_bytes` can inject raw frames.)

    On receipt, a frame whose signature does not verify is dropped before deserialization,
    counted in `statistics().rejected` and logged once per channel; `recv()` goes on to the
    next frame. A signed frame that does not deserialize raises `ChannelDecodeError` once and
    is discarded; the channel stays usable.
    """

    def __init__(
        self, *args: Any, maxsize: int = CHAN_MAXSIZE, codec: Codec | None = None, **kwargs: Any
    ) -> None:
        """Initialises the SerdeChannel.

        Args:
            *args: Passed to `Channel`.
            maxsize: Optional; The message capacity of the Channel.
            codec: Optional; how items become frames. Defaults to pickle with a fresh key,
                which only this channel can verify: connectors pass their shared codec.
            **kwargs: Passed to `Channel`.
        """
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self.codec = codec if codec is not None else Codec.generate()
        self._warned_rejected = False

    async def send(self, msg: Any) -> None:
        """Serializes, signs and sends an item.

        Args:
            msg: The item to send.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelSerializationError: If `msg` cannot be serialized (nothing is sent).
        """
        self._check_open()
        await self.send_bytes(self.codec.encode(msg))
        self._sent += 1

    async def recv(self) -> Any:
        """Receives, verifies and deserializes the next item.

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
            ChannelDecodeError: If a correctly signed message does not deserialize.
        """
        while True:
            try:
                frame = await self.recv_bytes()
            except ChannelClosedError:
                if not self._is_closed:
                    await self._close_at_end()
                raise
            try:
                item = self.codec.decode(frame)
            except MessageRejectedError as exc:
                self.reject(exc)
                continue
            self._received += 1
            return item

    async def _close_at_end(self) -> None:
        """Closes this receiver once `recv_bytes()` reported the end of the stream.

        A receiver at the end is closed (`is_closed` is True) on every backend; a failure
        to release its transport is logged, never raised over the end of the stream.
        """
        try:
            await self.close()
        except ChannelError as exc:
            _log.warning("%s: releasing the transport at the end failed: %s", self, exc)
        finally:
            self._is_closed = True

    def reject(self, reason: BaseException | str) -> None:
        """Counts a dropped frame and logs the first one of this channel.

        Backends call it for frames they drop before `recv()` sees them (for example a
        transport-level envelope that does not parse).

        Args:
            reason: Why the frame was dropped (an exception or a message), for the log.
        """
        self._rejected += 1
        if not self._warned_rejected:
            self._warned_rejected = True
            _log.warning(
                "%s dropped a message that failed verification (%s); further drops on this "
                "channel are counted in statistics().rejected without logging",
                type(self).__name__,
                reason,
            )

    @abstractmethod
    async def send_bytes(self, msg: bytes) -> None:
        """Sends one serialised frame through the Channel.

        Args:
            msg: The frame to be sent through the Channel.

        Raises:
            ChannelClosedError: If the channel is closed.
        """

    @abstractmethod
    async def recv_bytes(self) -> bytes:
        """Receives one serialised frame from the Channel and returns it.

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
        """
