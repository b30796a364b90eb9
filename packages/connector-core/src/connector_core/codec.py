"""`Codec`: serializes and signs items into frames, and verifies frames before decoding them.

Frames are sealed in the signed envelope (`connector_core.envelope`; payload layouts in
`connector_core.payload`) with HMAC-SHA256 under the connector's key, which travels inside
the pickled connector: members have it, nobody else does. A frame whose tag does not verify
is dropped *before* its payload is deserialized. (`sign`/`encode`/`verify`/`decode`: the
bare form, tag + payload, for `SerdeChannel`s outside the envelope and control entries.)
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from connector_core.envelope import HEADER, NO_CONNECTION, VERSION, Header, connection_id
from connector_core.exceptions import ChannelDecodeError, ChannelSerializationError
from connector_core.keyed_hash import keyed_states, tag, tag_of
from connector_core.payload import LIST, Buffer, Payload, items_body, payload_of, read_items
from connector_core.serializers import PickleSerializer, Serializer, direct_functions

__all__ = ["TAG_SIZE", "Codec", "MessageRejectedError"]

_log = logging.getLogger(__name__)

TAG_SIZE = 32
"""Length in bytes of the HMAC-SHA256 tag that prefixes a signed frame."""

_HEADER_SIZE = HEADER.size
_unpack_header = HEADER.unpack_from
_pack_header = HEADER.pack
_new_header = tuple.__new__  # builds a `Header` without NamedTuple's keyword handling
_SLICE_LIMIT = 64 * 1024  # frames up to this size are sliced; larger ones read through a view


class MessageRejectedError(Exception):
    """A received frame failed verification; it is dropped and counted, never raised to users."""


class Codec:
    """Encodes items into (optionally signed) frames and decodes them back.

    Picklable: the key travels with it, so copies in other processes verify each other.
    """

    __slots__ = (
        "_dumps",
        "_in_place",
        "_inner",
        "_key",
        "_loads",
        "_outer",
        "_warned_unsigned",
        "connection",
        "serializer",
    )

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
        self._set_serializer(serializer)
        self._set_key(key)
        self._warned_unsigned = False
        self.connection = NO_CONNECTION
        """The connection id that sealed frames carry and opened frames must carry."""

    def bound(self, name: str) -> Codec:
        """Returns a copy of this codec for the connection called `name`.

        Frames it seals carry that connection's id, and it opens only frames that do: two
        connections that share a key (the shared secret) reject each other's frames.

        Args:
            name: What names the connection in every process (job id and spec id, or an
                address): the same name gives the same id.
        """
        copy = Codec(self.serializer, self._key)
        copy.connection = connection_id(name)
        return copy

    @classmethod
    def generate(cls, serializer: Serializer | None = None, sign: bool = True) -> Codec:
        """Returns a new codec with a fresh random 32-byte key (or unsigned if `sign` is False).

        Args:
            serializer: Optional; defaults to `PickleSerializer`.
            sign: Optional; False makes an unsigned codec.
        """
        return cls(serializer, secrets.token_bytes(32) if sign else None)

    def _set_serializer(self, serializer: Serializer) -> None:
        self.serializer = serializer
        self._dumps, self._loads, self._in_place = direct_functions(serializer)

    def _set_key(self, key: bytes | None) -> None:
        self._key = key
        if key is not None:
            self._inner, self._outer = keyed_states(key)

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
        return tag(self._inner, self._outer, payload) + payload

    def encode(self, item: Any) -> bytes:
        """Serializes and signs one item: the frame to send.

        Args:
            item: The item to encode.

        Raises:
            ChannelSerializationError: If the serializer cannot handle `item`.
        """
        return self.sign(self.dumps_item(item))

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
        expected = tag(self._inner, self._outer, payload)
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

    # -- the envelope (connector_core.envelope) ----------------------------------------------

    def dumps_item(self, item: Any) -> bytes:
        """Serializes one item for `seal_items` (an `ITEMS` payload, `connector_core.payload`).

        Args:
            item: The item.

        Raises:
            ChannelSerializationError: If the serializer cannot handle it.
        """
        try:
            return self._dumps(item)
        except Exception as exc:
            raise ChannelSerializationError(
                f"cannot serialize {type(item).__name__} item with the "
                f"{self.serializer.name} serializer: {exc}"
            ) from exc

    def seal(self, items: list[Any], sender: bytes, seq: int) -> bytes:
        """Serializes `items` as one frame in the signed envelope (a `LIST` payload).

        Args:
            items: The items the frame carries, in order.
            sender: The sending channel's id (`SENDER_SIZE` bytes).
            seq: The sender's sequence number for this frame (from 1).

        Returns:
            The frame.

        Raises:
            ChannelSerializationError: If the serializer cannot handle an item.
        """
        try:
            payload = self._dumps(items)
        except Exception as exc:
            kinds = sorted({type(item).__name__ for item in items})
            raise ChannelSerializationError(
                f"cannot serialize {', '.join(kinds)} item(s) with the "
                f"{self.serializer.name} serializer: {exc}"
            ) from exc
        return self.seal_payload(payload, sender, seq, len(items))

    def seal_payload(self, payload: bytes, sender: bytes, seq: int, items: int) -> bytes:
        """Seals an already serialized list of items as one frame (see `seal`).

        Args:
            payload: The serializer's output for a list of items.
            sender: The sending party's id (`SENDER_SIZE` bytes).
            seq: The party's sequence number for this frame (from 1).
            items: How many items the list holds (0: not stated).

        Returns:
            The frame.
        """
        header = _pack_header(VERSION, self.connection, sender, seq, items)
        return self._sealed([header, payload, LIST])  # no `payload + LIST`: one join, no copy

    def reseal(
        self,
        payload: Buffer | list[Buffer],
        sender: bytes,
        seq: int,
        items: int,
        lent: Sequence[Buffer] = (),
    ) -> bytes:
        """Seals a payload (any layout, as `open()` returns it) as a new frame.

        Args:
            payload: An opened frame's payload, its layout byte included; or its pieces,
                joined into the frame with the header and tag (one copy).
            sender: The sealing party's id (`SENDER_SIZE` bytes).
            seq: The party's sequence number for this frame (from 1).
            items: How many items it holds.
            lent: Optional; buffers sent beside the frame, covered by its tag in order.
        """
        header = _pack_header(VERSION, self.connection, sender, seq, items)
        return self._sealed(
            [header, *payload] if isinstance(payload, list) else [header, payload], lent
        )

    def seal_items(self, payloads: list[bytes], sender: bytes, seq: int) -> bytes:
        """Seals items serialized one by one (`dumps_item`) as one frame (an `ITEMS` payload).

        Args:
            payloads: The serialized items, in order.
            sender: The sending party's id (`SENDER_SIZE` bytes).
            seq: The party's sequence number for this frame (from 1).

        Returns:
            The frame.
        """
        pieces = items_body(payloads)
        pieces.insert(0, _pack_header(VERSION, self.connection, sender, seq, len(payloads)))
        return self._sealed(pieces)

    def _sealed(self, pieces: Sequence[Buffer], lent: Sequence[Buffer] = ()) -> bytes:
        """The frame of header and payload `pieces`: tagged when signing, joined once.

        The tag also covers the buffers `lent`, in order; they are not joined in.
        """
        if self._key is None:
            return b"".join(pieces)
        if len(pieces) > 8 and sum(map(len, pieces)) < _SLICE_LIMIT:
            pieces = [b"".join(pieces)]  # many small pieces: one join beats an update each
        return b"".join([tag_of(self._inner, self._outer, [*pieces, *lent]), *pieces])

    def open(self, frame: Buffer, lent: Sequence[Buffer] = ()) -> tuple[Header, Payload]:
        """Verifies a sealed frame; returns its header and payload (`payload.payload_of`).

        Args:
            frame: A received frame.
            lent: Optional; the buffers that arrived beside it, covered by its tag too
                (`connector_core.buffers`; their signed table is the caller's to check).

        Raises:
            MessageRejectedError: If the frame is too short, its tag does not verify, or it
                belongs to another connection or envelope version.
        """
        key = self._key
        start = 0 if key is None else TAG_SIZE
        body = start + _HEADER_SIZE
        size = len(frame)
        if size < body:
            raise MessageRejectedError(f"frame of {size} bytes is shorter than a header")
        # small frames are sliced (cheaper than a view); large ones are read in place
        data: Buffer = frame if size <= _SLICE_LIMIT else memoryview(frame)
        if key is None:
            if not self._warned_unsigned and self.serializer.name == "pickle":
                self._warn_unsigned_pickle()
        elif not hmac.compare_digest(
            tag_of(self._inner, self._outer, (data[TAG_SIZE:], *lent)), data[:TAG_SIZE]
        ):
            raise MessageRejectedError("HMAC tag does not verify")
        version, connection, sender, seq, count = _unpack_header(frame, start)
        if version != VERSION:
            raise MessageRejectedError(f"envelope version {version} is not {VERSION}")
        if connection != self.connection:
            raise MessageRejectedError("the frame belongs to another connection")
        return _new_header(Header, (connection, sender, seq, count)), payload_of(frame, body)

    def loads_items(self, payload: Payload, count: int | None = None) -> list[Any]:
        """Deserializes the items of an opened frame's payload (either layout).

        Args:
            payload: What `open()` returned.
            count: Optional; the item count from the header, checked when given.

        Raises:
            ChannelDecodeError: If the payload does not hold that many items that decode.
        """
        try:
            items = read_items(payload, self._loads, self._in_place)
        except Exception as exc:
            raise ChannelDecodeError(self._undecodable(payload, exc)) from exc
        if count is not None and len(items) != count:
            raise ChannelDecodeError(
                f"discarded a message of {len(payload)} bytes that holds {len(items)} items, "
                f"not the {count} its header states"
            )
        return items

    def decode(self, frame: bytes) -> Any:
        """Verifies and deserializes one frame: its item.

        Args:
            frame: A received frame.

        Raises:
            MessageRejectedError: If the tag does not verify (nothing was deserialized).
            ChannelDecodeError: If the tag verified but the payload does not deserialize.
        """
        return self.loads(self.verify(frame))

    def loads(self, payload: bytes) -> Any:
        """Deserializes a payload whose frame already verified: its item.

        Args:
            payload: What `verify()` returned.

        Raises:
            ChannelDecodeError: If the payload does not deserialize.
        """
        try:
            return self.serializer.loads(payload)
        except Exception as exc:
            raise ChannelDecodeError(self._undecodable(payload, exc)) from exc

    def _undecodable(self, payload: Payload, exc: Exception) -> str:
        return (
            f"discarded a message of {len(payload)} bytes that the {self.serializer.name} "
            f"serializer cannot decode: {exc!r}"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Codec)
            and other._key == self._key
            and other.serializer == self.serializer
            and other.connection == self.connection
        )

    def __hash__(self) -> int:
        return hash((self._key, self.serializer.name, self.connection))

    def __repr__(self) -> str:
        signed = "signed" if self.signed else "unsigned"
        return f"Codec({self.serializer.name}, {signed})"

    def __getstate__(self) -> tuple[Serializer, bytes | None, bytes]:
        return (self.serializer, self._key, self.connection)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._warned_unsigned = False
        self._set_serializer(state[0])
        self._set_key(state[1])
        self.connection = state[2] if len(state) > 2 else NO_CONNECTION
