from __future__ import annotations

import hmac
import logging
import pickle
import threading

import pytest

from connector_core import (
    ChannelDecodeError,
    ChannelSerializationError,
    Codec,
    JsonSerializer,
    PickleSerializer,
)
from connector_core.serde import TAG_SIZE, MessageRejectedError
from connector_core.serializers import direct_functions


def test_codec_round_trips_an_item() -> None:
    codec = Codec.generate()
    item = {"a": [1, 2.5, "x"], "b": b"bytes", "c": (1, None)}
    assert codec.decode(codec.encode(item)) == item


def test_signed_frame_starts_with_a_tag() -> None:
    codec = Codec.generate()
    assert len(codec.encode(1)) == TAG_SIZE + len(pickle.dumps(1, pickle.HIGHEST_PROTOCOL))


def test_tampered_frame_is_rejected() -> None:
    codec = Codec.generate()
    frame = bytearray(codec.encode("hello"))
    frame[-1] ^= 0x01
    with pytest.raises(MessageRejectedError, match="does not verify"):
        codec.decode(bytes(frame))


def test_frame_signed_with_another_key_is_rejected() -> None:
    with pytest.raises(MessageRejectedError):
        Codec.generate().decode(Codec.generate().encode("hello"))


def test_frame_shorter_than_a_tag_is_rejected() -> None:
    with pytest.raises(MessageRejectedError, match="shorter than a tag"):
        Codec.generate().decode(b"short")


def test_unsigned_codec_passes_payloads_through() -> None:
    codec = Codec(key=None)
    assert codec.encode(5) == pickle.dumps(5, pickle.HIGHEST_PROTOCOL)
    assert codec.decode(codec.encode(5)) == 5


def test_unserializable_item_raises_channel_serialization_error() -> None:
    with pytest.raises(ChannelSerializationError, match="cannot serialize lock item"):
        Codec.generate().encode(threading.Lock())


def test_signed_garbage_raises_channel_decode_error() -> None:
    codec = Codec.generate()
    with pytest.raises(ChannelDecodeError, match="cannot decode"):
        codec.decode(codec.sign(b"\x80\x05garbage"))


def test_json_serializer_runs_no_code_and_round_trips_json_types() -> None:
    codec = Codec.generate(JsonSerializer())
    item = {"a": [1, 2.5, "é"], "b": None, "c": True}
    assert codec.decode(codec.encode(item)) == item


def test_json_serializer_refuses_non_json_items() -> None:
    with pytest.raises(ChannelSerializationError, match="json serializer"):
        Codec.generate(JsonSerializer()).encode({1, 2})


def test_codec_keeps_its_key_when_pickled() -> None:
    codec = Codec.generate()
    copy = pickle.loads(pickle.dumps(codec))
    assert copy == codec
    assert copy.decode(codec.encode("x")) == "x"


def test_codec_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Codec(key=b"short")


def test_codec_refuses_an_object_without_dumps_and_loads() -> None:
    with pytest.raises(TypeError, match="dumps"):
        Codec(serializer=object())  # type: ignore[arg-type]


@pytest.mark.parametrize("key_size", [16, 32, 64, 65, 200])
def test_tag_is_standard_hmac_sha256(key_size: int) -> None:
    key = bytes(range(256))[:key_size]
    codec = Codec(key=key)
    payload = pickle.dumps({"x": 1})
    assert codec.sign(payload) == hmac.digest(key, payload, "sha256") + payload


def test_unsigned_pickle_is_logged_once_per_codec(caplog: pytest.LogCaptureFixture) -> None:
    codec = Codec(PickleSerializer(), None)
    with caplog.at_level(logging.WARNING, logger="connector_core.codec"):
        for item in range(3):
            assert codec.decode(codec.encode(item)) == item
    warnings = [r for r in caplog.records if "carries no signature" in r.message]
    assert len(warnings) == 1


def test_unsigned_json_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    codec = Codec(JsonSerializer(), None)
    with caplog.at_level(logging.WARNING, logger="connector_core.codec"):
        assert codec.decode(codec.encode([1])) == [1]
    assert not [r for r in caplog.records if "carries no signature" in r.message]


def test_unsigned_pickle_warning_is_logged_again_by_a_pickled_copy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    codec = Codec(PickleSerializer(), None)
    codec.decode(codec.encode(0))
    copy = pickle.loads(pickle.dumps(codec))
    with caplog.at_level(logging.WARNING, logger="connector_core.codec"):
        copy.decode(copy.encode(1))
    assert [r for r in caplog.records if "carries no signature" in r.message]


def test_pickle_serializer_is_used_through_pickles_own_functions() -> None:
    dumps, loads, in_place = direct_functions(PickleSerializer())
    assert loads is pickle.loads
    assert in_place
    assert pickle.loads(dumps({"a": [1, 2]})) == {"a": [1, 2]}


def test_another_serializer_is_used_through_its_methods() -> None:
    serializer = JsonSerializer()
    dumps, loads, in_place = direct_functions(serializer)
    assert (dumps, loads, in_place) == (serializer.dumps, serializer.loads, False)


def test_a_pickled_codec_seals_and_opens_items_like_the_original() -> None:
    codec = Codec.generate().bound("job..spec")
    copy = pickle.loads(pickle.dumps(codec))
    frame = codec.seal_items([codec.dumps_item({"x": 1}), codec.dumps_item("y")], b"s" * 8, 1)
    header, payload = copy.open(frame)
    assert copy.loads_items(payload, header.items) == [{"x": 1}, "y"]
