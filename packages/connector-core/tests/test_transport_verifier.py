"""`Verifier`: verification where frames arrive; what fails is dropped, counted, logged once."""

from __future__ import annotations

import logging

import pytest

from connector_core.codec import TAG_SIZE, Codec
from connector_core.payload import LIST
from connector_core.serializers import JsonSerializer
from connector_core.transport import Verifier

SENDER = b"sender-1"


def _frame(codec: Codec, payload: bytes, seq: int = 1) -> bytes:
    return codec.seal_payload(payload, SENDER, seq, 1)


def _verifier(codec: Codec | None = None) -> Verifier:
    return Verifier(codec if codec is not None else Codec.generate(), owner="TestReceiver")


def test_a_frame_with_a_good_tag_returns_its_payload() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    assert verifier.accept(_frame(codec, b"payload")) == b"payload" + LIST
    assert verifier.rejected == 0


def test_a_frame_with_a_bad_tag_is_dropped_and_counted() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    frame = bytearray(_frame(codec, b"payload"))
    frame[0] ^= 0xFF
    assert verifier.accept(bytes(frame)) is None
    assert verifier.rejected == 1


def test_a_frame_with_a_tampered_payload_is_dropped() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    assert verifier.accept(_frame(codec, b"payload") + b"!") is None
    assert verifier.rejected == 1


def test_a_frame_signed_with_another_key_is_dropped() -> None:
    verifier = _verifier(Codec.generate())
    assert verifier.accept(_frame(Codec.generate(), b"payload")) is None
    assert verifier.rejected == 1


def test_a_frame_shorter_than_a_tag_is_dropped() -> None:
    verifier = _verifier()
    assert verifier.accept(b"\x00" * (TAG_SIZE - 1)) is None
    assert verifier.rejected == 1


def test_drops_are_logged_once_per_verifier(caplog: pytest.LogCaptureFixture) -> None:
    verifier = _verifier()
    with caplog.at_level(logging.WARNING, logger="connector_core.transport"):
        for _ in range(3):
            verifier.accept(b"\x00" * (TAG_SIZE + 4))
    assert verifier.rejected == 3
    [record] = caplog.records
    assert "TestReceiver" in record.getMessage()
    assert "statistics().rejected" in record.getMessage()


def test_each_verifier_logs_its_own_first_drop(caplog: pytest.LogCaptureFixture) -> None:
    codec = Codec.generate()
    with caplog.at_level(logging.WARNING, logger="connector_core.transport"):
        Verifier(codec, owner="first").accept(b"forged")
        Verifier(codec, owner="second").accept(b"forged")
    assert len(caplog.records) == 2


def test_good_frames_after_a_drop_still_verify() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    verifier.accept(b"forged")
    assert verifier.accept(_frame(codec, b"next")) == b"next" + LIST
    assert verifier.rejected == 1


def test_drop_counts_a_frame_dropped_for_another_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    verifier = _verifier()
    with caplog.at_level(logging.WARNING, logger="connector_core.transport"):
        verifier.drop("the batch does not parse")
    assert verifier.rejected == 1
    assert "the batch does not parse" in caplog.text


def test_an_unsigned_codec_accepts_any_frame_in_its_envelope() -> None:
    codec = Codec(JsonSerializer(), key=None)
    verifier = _verifier(codec)
    assert verifier.accept(_frame(codec, b'[{"a": 1}]')) == b'[{"a": 1}]' + LIST
    assert verifier.rejected == 0


def test_an_unsigned_codec_still_drops_what_is_not_an_envelope() -> None:
    verifier = _verifier(Codec(JsonSerializer(), key=None))
    assert verifier.accept(b'{"a": 1}') is None
    assert verifier.rejected == 1


def test_a_replayed_frame_is_dropped_and_counted() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    frame = _frame(codec, b"payload")
    assert verifier.accept(frame) == b"payload" + LIST
    assert verifier.accept(frame) is None
    assert verifier.rejected == 1


def test_a_frame_of_another_connection_sharing_the_key_is_dropped() -> None:
    codec = Codec.generate().bound("job/a..b")
    verifier = _verifier(codec)
    assert verifier.accept(_frame(codec.bound("job/c..d"), b"payload")) is None
    assert verifier.rejected == 1


def test_a_redelivered_copy_is_passed_to_the_transport_to_skip_what_it_handed_out() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    frame = _frame(codec, b"payload")
    verifier.accept(frame)
    assert verifier.accept(frame, redelivered=True) == b"payload" + LIST
    assert verifier.rejected == 0


def test_frames_arriving_somewhat_out_of_order_are_each_accepted_once() -> None:
    codec = Codec.generate()
    verifier = _verifier(codec)
    assert [verifier.accept(_frame(codec, b"x", seq)) for seq in (2, 1, 3)] == [b"x" + LIST] * 3


def test_accept_items_returns_the_payload_and_the_frames_item_count() -> None:
    codec = Codec.generate()
    frame = codec.seal([1, 2, 3], b"s" * 8, 1)
    accepted = Verifier(codec).accept_items(frame)
    assert accepted is not None
    payload, items = accepted
    assert items == 3
    assert codec.loads_items(payload) == [1, 2, 3]
