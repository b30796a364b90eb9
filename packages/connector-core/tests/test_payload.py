"""The payload layouts: a serialized list (`LIST`) or items serialized one by one (`ITEMS`)."""

from __future__ import annotations

import json
import pickle

import pytest

from connector_core.codec import Codec
from connector_core.exceptions import ChannelDecodeError
from connector_core.payload import (
    BUFFERS,
    INLINE,
    ITEMS,
    LIST,
    PayloadError,
    items_body,
    read_items,
)
from connector_core.serializers import JsonSerializer

SENDER = b"s" * 8


def _items(payloads: list[bytes]) -> bytes:
    return b"".join(items_body(payloads))


def test_items_serialized_one_by_one_come_back_in_order() -> None:
    payload = _items([pickle.dumps(i) for i in (1, "two", {"three": 3})])
    assert read_items(payload, pickle.loads, in_place=True) == [1, "two", {"three": 3}]


def test_a_list_payload_is_read_with_its_layout_byte_in_place() -> None:
    assert read_items(pickle.dumps([1, 2]) + LIST, pickle.loads, in_place=True) == [1, 2]


def test_a_serializer_that_reads_every_byte_gets_the_payload_without_its_layout_byte() -> None:
    assert read_items(json.dumps([1]).encode() + LIST, json.loads, in_place=False) == [1]
    payload = _items([b"1", b'"x"'])
    assert read_items(payload, json.loads, in_place=False) == [1, "x"]


def test_large_items_are_read_through_a_view_when_the_serializer_allows() -> None:
    big = b"x" * (1 << 17)
    seen: list[type] = []

    def loads(data: bytes | memoryview) -> object:
        seen.append(type(data))
        return pickle.loads(data)

    assert read_items(_items([pickle.dumps(big)]), loads, in_place=True) == [big]
    assert seen == [memoryview]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x00" + ITEMS, "item count"),
        (b"\x00\x00\x00\x09" + ITEMS, "cannot hold"),
        (b"\x00\x00\x00\x01\x00\x00\x00\x09abc" + ITEMS, "inside an item"),
        (b"\x00\x00\x00\x00zz" + ITEMS, "stray bytes"),
        (b"\x80\x05N.\x07", "no known layout"),
        (b"\x01" + BUFFERS, "buffer count"),
        (b"\x80\x05N." + BUFFERS, "cannot list"),
        (b"\x00\x00\x00\x01" + b"\x00" * 8 + b"\x80\x05N." + BUFFERS, "did not come"),
        (b"\x00\x00\x00\x01" + b"\x00\x00\x00\x00\x00\x00\x00\x09N" + INLINE, "shorter"),
    ],
)
def test_a_payload_in_no_layout_is_refused_with_the_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        read_items(payload, pickle.loads, in_place=True)


def test_the_codec_seals_items_serialized_one_by_one_under_one_tag() -> None:
    codec = Codec.generate().bound("c")
    frame = codec.seal_items([codec.dumps_item(i) for i in range(5)], SENDER, 7)
    header, payload = codec.open(frame)
    assert (header.seq, header.items) == (7, 5)
    assert codec.loads_items(payload, header.items) == [0, 1, 2, 3, 4]


def test_a_sealed_item_run_that_was_tampered_with_is_rejected() -> None:
    codec = Codec.generate().bound("c")
    frame = bytearray(codec.seal_items([codec.dumps_item("a"), codec.dumps_item("b")], SENDER, 1))
    frame[-3] ^= 1
    with pytest.raises(Exception, match="does not verify"):
        codec.open(bytes(frame))


def test_an_unsigned_json_codec_reads_both_layouts() -> None:
    codec = Codec(JsonSerializer(), None).bound("c")
    for frame in (
        codec.seal([1, "a"], SENDER, 1),
        codec.seal_items([codec.dumps_item(1), codec.dumps_item("a")], SENDER, 2),
    ):
        header, payload = codec.open(frame)
        assert codec.loads_items(payload, header.items) == [1, "a"]


def test_an_item_that_does_not_decode_is_a_decode_error() -> None:
    codec = Codec.generate()
    with pytest.raises(ChannelDecodeError, match="cannot decode"):
        codec.loads_items(_items([b"not a pickle"]))
