"""A data entry's frames travel beside its envelope, bound to it by their digest.

No server: the entries are sealed and opened as a receiver opens what it reads.
"""

from __future__ import annotations

import os

import pytest

from connector_core.codec import Codec, MessageRejectedError
from connector_core.framing import pack_frames
from connector_redis.entries import (
    DATA,
    MARKER,
    FramesRejectedError,
    frame_digest,
    open_data,
    seal_entry,
)

PARTY = os.urandom(8)
ENTRY_ID = (1_700_000_000_000, 3)


@pytest.fixture
def codec() -> Codec:
    """A signing codec bound to one connection."""
    return Codec(key=os.urandom(32)).bound("redis:job:spec")


def _frames(codec: Codec, *items: list[object]) -> list[bytes]:
    return [codec.seal(list(batch), PARTY, seq) for seq, batch in enumerate(items, 1)]


def _data_entry(codec: Codec, frames: list[bytes], items: int) -> dict[bytes, bytes]:
    envelope = seal_entry(codec, PARTY, 1, DATA, ENTRY_ID, frame_digest(codec, frames), items)
    return {b"e": envelope, b"b": pack_frames(frames)}


def test_a_data_entry_opens_to_the_frames_it_was_sealed_with(codec: Codec) -> None:
    frames = _frames(codec, [1, 2], [3])

    entry, opened = open_data(codec, _data_entry(codec, frames, 3), ENTRY_ID)

    assert (entry.kind, entry.items, opened) == (DATA, 3, frames)


def test_a_data_entry_with_other_frames_is_rejected_with_its_signed_count(codec: Codec) -> None:
    fields = _data_entry(codec, _frames(codec, [1, 2]), 2)
    fields[b"b"] = pack_frames(_frames(codec, [9, 9]))  # signed frames, but not these

    with pytest.raises(FramesRejectedError, match="other frames") as raised:
        open_data(codec, fields, ENTRY_ID)

    assert raised.value.entry.items == 2


def test_a_data_entry_without_its_frames_is_rejected(codec: Codec) -> None:
    fields = _data_entry(codec, _frames(codec, [1]), 1)
    del fields[b"b"]

    with pytest.raises(FramesRejectedError, match="without its frames"):
        open_data(codec, fields, ENTRY_ID)


def test_a_data_entry_whose_frames_do_not_parse_is_rejected(codec: Codec) -> None:
    fields = _data_entry(codec, _frames(codec, [1]), 1)
    fields[b"b"] = fields[b"b"][:-1]

    with pytest.raises(FramesRejectedError, match="do not parse"):
        open_data(codec, fields, ENTRY_ID)


def test_a_copy_of_a_data_entry_at_another_id_is_rejected(codec: Codec) -> None:
    fields = _data_entry(codec, _frames(codec, [1]), 1)

    with pytest.raises(MessageRejectedError, match="a copy"):
        open_data(codec, fields, (ENTRY_ID[0] + 1, 0))


def test_an_entry_sealed_with_another_key_is_rejected(codec: Codec) -> None:
    other = Codec(key=os.urandom(32)).bound("redis:job:spec")
    fields = _data_entry(other, _frames(other, [1]), 1)

    with pytest.raises(MessageRejectedError) as raised:
        open_data(codec, fields, ENTRY_ID)

    assert not isinstance(raised.value, FramesRejectedError)


def test_an_end_marker_has_no_frames(codec: Codec) -> None:
    fields = {b"e": seal_entry(codec, PARTY, 1, MARKER, ENTRY_ID, b"", 0)}

    entry, frames = open_data(codec, fields, ENTRY_ID)

    assert (entry.kind, frames) == (MARKER, [])
