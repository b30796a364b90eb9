"""The signed envelope: connection, sender and sequence are covered by the tag; replays drop."""

from __future__ import annotations

import pickle

import pytest

from connector_core.codec import TAG_SIZE, Codec, MessageRejectedError
from connector_core.envelope import HEADER, ReplayGuard, connection_id
from connector_core.exceptions import ChannelDecodeError, ChannelSerializationError
from connector_core.payload import LIST
from connector_core.serializers import JsonSerializer

SENDER = b"s" * 8


@pytest.fixture
def codec() -> Codec:
    return Codec.generate().bound("job-1/a..b")


def test_a_sealed_frame_opens_to_its_header_and_items(codec: Codec) -> None:
    header, payload = codec.open(codec.seal([1, "two"], SENDER, 7))
    assert (header.sender, header.seq, header.items) == (SENDER, 7, 2)
    assert codec.loads_items(payload, header.items) == [1, "two"]


def test_the_same_name_gives_the_same_connection_in_every_copy(codec: Codec) -> None:
    copy = pickle.loads(pickle.dumps(codec))
    assert copy.connection == codec.connection == connection_id("job-1/a..b")
    assert copy.open(codec.seal([1], SENDER, 1))[0].seq == 1


def test_a_frame_of_another_connection_with_the_same_key_is_rejected(codec: Codec) -> None:
    other = codec.bound("job-1/c..d")
    with pytest.raises(MessageRejectedError, match="another connection"):
        codec.open(other.seal([1], SENDER, 1))


@pytest.mark.parametrize("field", ["connection", "sender", "seq", "items", "payload"])
def test_changing_any_signed_field_breaks_the_tag(codec: Codec, field: str) -> None:
    frame = bytearray(codec.seal([1, 2], SENDER, 3))
    offsets = {"connection": 1, "sender": 17, "seq": 32, "items": 36, "payload": HEADER.size}
    frame[TAG_SIZE + offsets[field]] ^= 0x01
    with pytest.raises(MessageRejectedError, match="does not verify"):
        codec.open(bytes(frame))


def test_a_frame_sealed_with_another_key_is_rejected(codec: Codec) -> None:
    stranger = Codec.generate().bound("job-1/a..b")
    with pytest.raises(MessageRejectedError):
        codec.open(stranger.seal([1], SENDER, 1))


def test_a_frame_shorter_than_the_envelope_is_rejected(codec: Codec) -> None:
    with pytest.raises(MessageRejectedError, match="shorter"):
        codec.open(b"\x00" * (TAG_SIZE + HEADER.size - 1))


def test_an_unsigned_codec_still_checks_the_connection() -> None:
    codec = Codec(JsonSerializer(), None).bound("x")
    header, payload = codec.open(codec.seal([{"a": 1}], SENDER, 1))
    assert codec.loads_items(payload, header.items) == [{"a": 1}]
    with pytest.raises(MessageRejectedError, match="another connection"):
        codec.open(Codec(JsonSerializer(), None).bound("y").seal([1], SENDER, 1))


def test_an_unserializable_item_fails_the_seal_naming_its_type(codec: Codec) -> None:
    with pytest.raises(ChannelSerializationError, match="generator"):
        codec.seal([(i for i in range(0))], SENDER, 1)


def test_a_payload_that_is_not_the_announced_list_is_a_decode_error(codec: Codec) -> None:
    with pytest.raises(ChannelDecodeError, match="not the 3 its header states"):
        codec.loads_items(pickle.dumps([1, 2]) + LIST, 3)
    with pytest.raises(ChannelDecodeError, match="not a list"):
        codec.loads_items(pickle.dumps({"not": "a list"}) + LIST)


def test_the_guard_admits_each_sequence_once() -> None:
    guard = ReplayGuard()
    assert [guard.admit(SENDER, seq) for seq in (1, 2, 2, 3, 1)] == [
        True,
        True,
        False,
        True,
        False,
    ]
    assert guard.replays == 2


def test_the_guard_admits_late_frames_inside_the_window_once() -> None:
    guard = ReplayGuard(window=8)
    assert guard.admit(SENDER, 10)
    assert guard.admit(SENDER, 4)
    assert not guard.admit(SENDER, 4)


def test_the_guard_refuses_frames_older_than_the_window() -> None:
    guard = ReplayGuard(window=8)
    guard.admit(SENDER, 100)
    assert not guard.admit(SENDER, 92)
    assert guard.replays == 1


def test_a_redelivered_frame_older_than_the_window_is_admitted() -> None:
    guard = ReplayGuard(window=8)
    guard.admit(SENDER, 100)
    assert guard.admit(SENDER, 50, redelivered=True)


def test_a_redelivered_frame_seen_before_is_admitted_for_the_transport_to_judge() -> None:
    guard = ReplayGuard()
    guard.admit(SENDER, 1)
    assert guard.admit(SENDER, 1, redelivered=True)
    assert guard.replays == 0


def test_senders_are_tracked_separately() -> None:
    guard = ReplayGuard()
    assert guard.admit(b"a" * 8, 1)
    assert guard.admit(b"b" * 8, 1)


def test_the_guard_forgets_the_least_recently_seen_sender_beyond_its_bound() -> None:
    guard = ReplayGuard(max_senders=2)
    for sender in (b"a" * 8, b"b" * 8, b"c" * 8):
        guard.admit(sender, 5)
    assert guard.admit(b"a" * 8, 5)  # forgotten: its history is gone
    assert not guard.admit(b"c" * 8, 5)


def test_a_long_run_in_order_still_refuses_every_replay_inside_the_window() -> None:
    guard = ReplayGuard(window=8)
    assert all(guard.admit(SENDER, seq) for seq in range(1, 101))  # window full long since
    assert [guard.admit(SENDER, seq) for seq in (100, 93, 92)] == [False, False, False]
    assert guard.admit(SENDER, 102)
    assert guard.admit(SENDER, 101)  # a late one inside the window: once
    assert not guard.admit(SENDER, 101)


def test_the_sender_seen_last_still_counts_as_recently_seen() -> None:
    guard = ReplayGuard(max_senders=2)
    a, b, c = b"a" * 8, b"b" * 8, b"c" * 8
    guard.admit(a, 1)
    guard.admit(b, 1)
    guard.admit(a, 2)
    guard.admit(a, 3)  # `a` again, right after itself
    guard.admit(c, 1)  # forgets `b`, the least recently seen
    assert not guard.admit(a, 3)
    assert guard.admit(b, 1)


def test_a_huge_jump_in_sequence_keeps_the_window_small() -> None:
    guard = ReplayGuard(window=16)
    guard.admit(SENDER, 1)
    assert guard.admit(SENDER, 2**62)
    assert not guard.admit(SENDER, 1)


_LARGE = b"x" * (256 * 1024)  # over the size from which a frame is read in place


def test_a_large_bytes_frame_opens_to_a_read_only_view_of_itself_not_a_copy(
    codec: Codec,
) -> None:
    frame = codec.seal([_LARGE], SENDER, 1)
    _, payload = codec.open(frame)
    assert type(payload) is memoryview
    assert payload.readonly
    assert payload.obj is frame
    assert codec.loads_items(payload) == [_LARGE]


def test_a_large_read_only_view_frame_opens_to_a_view_of_it(codec: Codec) -> None:
    frame = codec.seal([_LARGE], SENDER, 1)
    _, payload = codec.open(memoryview(frame))
    assert type(payload) is memoryview
    assert payload.obj is frame


def test_a_large_frame_that_could_change_opens_to_a_copy(codec: Codec) -> None:
    frame = bytearray(codec.seal([_LARGE], SENDER, 1))
    _, payload = codec.open(frame)
    frame[-200:] = b"y" * 200  # a transport reusing its buffer after verification
    assert type(payload) is bytes
    assert codec.loads_items(payload) == [_LARGE]


def test_a_json_payload_read_in_place_decodes() -> None:
    codec = Codec.generate(serializer=JsonSerializer()).bound("job-1/a..b")
    text = "x" * (256 * 1024)
    _, payload = codec.open(codec.seal([text, {"n": 1}], SENDER, 1))
    assert type(payload) is memoryview
    assert codec.loads_items(payload) == [text, {"n": 1}]
