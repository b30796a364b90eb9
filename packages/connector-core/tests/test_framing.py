"""`connector_core.framing`: the one batch framing, `count (length frame)*`, parsed strictly."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_core.framing import (
    FRAME_OVERHEAD,
    HEADER_SIZE,
    FramingError,
    pack_frames,
    unpack_frames,
)

frame_lists = st.lists(st.binary(max_size=64), max_size=20)


def test_a_batch_round_trips() -> None:
    frames = [b"one", b"", b"three" * 100]
    assert unpack_frames(pack_frames(frames)) == frames


def test_an_empty_batch_round_trips() -> None:
    assert unpack_frames(pack_frames([])) == []


def test_a_memoryview_unpacks_like_bytes() -> None:
    batch = pack_frames([b"a", b"bc"])
    assert unpack_frames(memoryview(batch)) == [b"a", b"bc"]


def test_the_layout_is_a_count_then_each_length_and_frame() -> None:
    expected = struct.pack("!I", 2) + struct.pack("!I", 2) + b"ab" + struct.pack("!I", 1) + b"c"
    assert pack_frames([b"ab", b"c"]) == expected


@given(frame_lists)
def test_any_list_of_frames_round_trips(frames: list[bytes]) -> None:
    batch = pack_frames(frames)
    assert len(batch) == HEADER_SIZE + sum(FRAME_OVERHEAD + len(f) for f in frames)
    assert unpack_frames(batch) == frames


@given(frame_lists, st.data())
def test_any_truncated_batch_raises_framing_error(frames: list[bytes], data: st.DataObject) -> None:
    batch = pack_frames(frames)
    cut = data.draw(st.integers(min_value=0, max_value=len(batch) - 1))
    with pytest.raises(FramingError):
        unpack_frames(batch[:cut])


@given(frame_lists, st.binary(min_size=1, max_size=16))
def test_stray_bytes_after_the_last_frame_raise_framing_error(
    frames: list[bytes], stray: bytes
) -> None:
    with pytest.raises(FramingError):
        unpack_frames(pack_frames(frames) + stray)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_framing_error_only(blob: bytes) -> None:
    try:
        frames = unpack_frames(blob)
    except FramingError:
        return
    assert pack_frames(frames) == blob  # what parses is exactly one batch


def test_a_message_shorter_than_the_header_raises() -> None:
    with pytest.raises(FramingError, match="too short"):
        unpack_frames(b"\x00\x00\x01")


def test_an_absurd_count_raises_before_reading_any_frame() -> None:
    with pytest.raises(FramingError, match="claims 4294967295 frames"):
        unpack_frames(struct.pack("!I", 0xFFFFFFFF) + b"\x00" * 64)


def test_a_frame_length_beyond_the_end_raises() -> None:
    batch = struct.pack("!II", 1, 1000) + b"short"
    with pytest.raises(FramingError, match="ends inside a frame"):
        unpack_frames(batch)


def test_a_batch_ending_inside_a_frame_header_raises() -> None:
    batch = struct.pack("!II", 2, 3) + b"abc" + b"\x00\x00"  # the second length is cut short
    with pytest.raises(FramingError, match="inside a frame header"):
        unpack_frames(batch)


def test_framing_error_is_a_value_error() -> None:
    assert issubclass(FramingError, ValueError)
