"""`connector_core.buffers`: large items pickled with their buffers out of band.

Each test proves one behaviour: what `dumps_lending` lends or copies, what the sealed frame
and its tag cover, how a receiver checks the parts against the signed table, and how such a
frame folds into one piece for the paths that move frames as they are.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from typing import Any

import numpy as np
import pytest

from connector_core.buffers import LEND_BYTES, dumps_lending, fold, send_dumps
from connector_core.codec import Codec
from connector_core.exceptions import ChannelSerializationError
from connector_core.payload import BUFFERS, Buffer, WithBuffers, inline
from connector_core.sealer import ASIDE_BYTES, Sealer
from connector_core.serializers import JsonSerializer, PickleSerializer
from connector_core.transport import Outbox, Verifier

LARGE = 2 * LEND_BYTES


def _codec() -> Codec:
    return Codec.generate().bound("buffers-test")


def _lent(item: Any) -> WithBuffers:
    payload = dumps_lending(item)
    assert type(payload) is WithBuffers
    return payload


def _receive(codec: Codec, frame: bytes, parts: list[Buffer] | None) -> tuple[Verifier, Any]:
    """A fresh receiver's verdict on `frame` with `parts` beside it: (verifier, item or None)."""
    verifier = Verifier(codec)
    accepted = verifier.accept_items(frame, lent=parts)
    if accepted is None:
        return verifier, None
    return verifier, codec.loads_items(accepted[0])[0]


def test_an_item_without_large_buffers_is_pickled_as_the_pickle_serializer_does() -> None:
    item = {"i": 1, "blob": b"x" * 100, "array": np.arange(10)}
    assert dumps_lending(item) == PickleSerializer().dumps(item)


def test_large_bytes_are_lent_whole_without_a_copy() -> None:
    item = b"x" * LARGE
    payload = _lent(item)
    assert len(payload.buffers) == 1
    buffer = payload.buffers[0]
    assert isinstance(buffer, memoryview)
    assert buffer.obj is item  # the item's own memory
    assert len(payload) < 100  # table and stream only


def test_a_writable_buffer_is_copied_when_pickled() -> None:
    item = bytearray(b"a" * LARGE)
    payload = _lent(item)
    item[:] = b"z" * LARGE
    assert bytes(payload.buffers[0]) == b"a" * LARGE


def test_a_read_only_array_is_lent_without_a_copy() -> None:
    item = np.ones(LARGE // 8)
    item.setflags(write=False)
    buffer = _lent(item).buffers[0]
    assert isinstance(buffer, memoryview)
    assert np.shares_memory(np.frombuffer(buffer, dtype=item.dtype), item)


def test_a_small_memoryview_is_pickled_as_bytes() -> None:
    assert pickle.loads(dumps_lending(memoryview(b"small"))) == b"small"


def test_an_item_that_cannot_be_pickled_raises_a_serialization_error() -> None:
    with pytest.raises(ChannelSerializationError, match="lambda"):
        dumps_lending({"array": np.ones(LARGE), "f": lambda: None})


def test_send_lends_with_pickle_whatever_its_transport() -> None:
    class Lending:
        def try_send_buffers(self, frame: WithBuffers) -> bool:
            return True

        async def send_buffers(self, frame: WithBuffers) -> None:
            pass

    pickled = _codec()
    json = Codec(JsonSerializer(), b"k" * 32)
    assert send_dumps(pickled, Lending()) is dumps_lending
    assert send_dumps(pickled, object()) is dumps_lending  # its buffers go inside the frame
    assert send_dumps(pickled, None) == pickled.dumps_item
    assert send_dumps(json, Lending()) == json.dumps_item


@pytest.mark.parametrize("size", [LARGE, ASIDE_BYTES], ids=["small", "sealed aside"])
async def test_a_frame_for_a_transport_that_takes_it_whole_holds_its_buffers(size: int) -> None:
    codec = _codec()
    item = {"w": np.ones(size // 8), "blob": b"x" * size, "n": 3}
    frame = await Sealer(codec).lent_aside(_lent(item), beside=False)
    assert type(frame) is bytes
    verifier, received = _receive(codec, frame, None)
    assert verifier.rejected == 0
    assert pickle.dumps(received) == pickle.dumps(item)


async def test_buffers_inside_a_frame_arrive_writable_only_if_they_were() -> None:
    codec = _codec()
    fixed = np.ones(LARGE // 8)
    fixed.flags.writeable = False
    frame = await Sealer(codec).lent_aside(_lent({"fixed": fixed, "open": np.ones(8192)}), False)
    _, received = _receive(codec, frame, None)
    assert not received["fixed"].flags.writeable
    assert received["open"].flags.writeable
    memory = received["fixed"]
    while isinstance(memory, np.ndarray) and memory.base is not None:
        memory = memory.base
    assert isinstance(memory, memoryview)
    assert type(memory.obj) is not bytearray, type(memory.obj)  # read where it arrived


@pytest.mark.parametrize(
    "item",
    [
        b"b" * LARGE,
        bytearray(b"a" * LARGE),
        np.arange(LARGE // 8).reshape(16, -1),
        {"w": np.ones((64, 512)), "b": np.arange(3), "name": "layer"},
    ],
    ids=["bytes", "bytearray", "array", "dict of arrays"],
)
def test_a_sealed_item_opens_with_its_buffers_to_an_equal_item(item: Any) -> None:
    codec = _codec()
    frame = Sealer(codec).lent(_lent(item))
    verifier, received = _receive(codec, frame, frame.buffers)
    assert verifier.rejected == 0
    assert type(received) is type(item)
    assert pickle.dumps(received) == pickle.dumps(item)


def test_the_tag_covers_every_buffer() -> None:
    codec = _codec()
    frame = Sealer(codec).lent(_lent({"a": np.ones(LARGE // 8), "b": np.zeros(LARGE // 8)}))
    tampered = [bytearray(buffer) for buffer in frame.buffers]
    tampered[1][-1] ^= 1
    verifier, received = _receive(codec, frame, [memoryview(b) for b in tampered])
    assert received is None
    assert verifier.rejected == 1


def test_parts_split_otherwise_than_the_signed_table_says_are_rejected() -> None:
    # The same bytes in the same order, so the same tag: only the signed table tells
    # the receiver where one buffer ends.
    codec = _codec()
    item = (np.full(LARGE, 1, dtype=np.uint8), np.full(LARGE, 2, dtype=np.uint8))
    frame = Sealer(codec).lent(_lent(item))
    joined = b"".join(frame.buffers)
    verifier, received = _receive(codec, frame, [joined[: LARGE + 1], joined[LARGE + 1 :]])
    assert received is None
    assert verifier.rejected == 1


def test_a_member_frame_whose_table_lies_about_its_parts_is_rejected() -> None:
    codec = _codec()
    buffer = b"x" * LARGE
    lying = struct.pack("!IQ", 1, LARGE + 1) + pickle.dumps(0, protocol=5) + BUFFERS
    frame = codec.reseal(lying, b"member-1", 1, 1, [buffer])  # signed with the key
    verifier, received = _receive(codec, frame, [buffer])
    assert received is None
    assert verifier.rejected == 1


def test_a_frame_with_buffers_that_failed_is_not_recorded_as_seen() -> None:
    codec = _codec()
    frame = Sealer(codec).lent(_lent(b"x" * LARGE))
    verifier = Verifier(codec)
    assert verifier.accept_items(frame, lent=[b"y" * LARGE]) is None
    accepted = verifier.accept_items(frame, lent=frame.buffers)
    assert accepted is not None
    assert codec.loads_items(accepted[0]) == [b"x" * LARGE]


def test_a_frame_with_buffers_sent_without_them_is_rejected() -> None:
    codec = _codec()
    frame = Sealer(codec).lent(_lent(b"x" * LARGE))
    verifier = Verifier(codec)
    assert verifier.accept_items(frame) is None
    assert verifier.rejected == 1


def test_fold_seals_a_frame_with_buffers_again_in_one_piece() -> None:
    codec = _codec()
    item = {"w": np.ones(LARGE // 8), "n": 3}
    frame = Sealer(codec).lent(_lent(item))
    plain = codec.seal(["plain"], b"sender-1", 1)
    folded = fold(codec, [plain, frame])
    assert folded[0] is plain
    assert type(folded[1]) is bytes
    verifier = Verifier(codec)
    accepted = verifier.accept_items(folded[1])
    assert accepted is not None
    received = codec.loads_items(accepted[0])[0]
    assert (received["w"] == item["w"]).all()
    assert received["w"].flags.writeable


def test_inline_joins_a_verified_payloads_buffers_in() -> None:
    codec = _codec()
    frame = Sealer(codec).lent(_lent(b"x" * LARGE))
    accepted = Verifier(codec).accept_items(frame, lent=frame.buffers)
    assert accepted is not None
    resealed = codec.reseal(inline(accepted[0]), b"receiver", 1, 1)
    assert codec.loads_items(codec.open(resealed)[1]) == [b"x" * LARGE]


def test_the_outbox_takes_a_frame_with_buffers_alone_in_its_place() -> None:
    box = Outbox(100)
    box.seal_runs_with(lambda payloads: b"|".join(payloads), 100)
    frame = Sealer(_codec()).lent(_lent(b"x" * LARGE))
    box.offer_item(b"a")
    box.offer_item(b"b")
    box.offer(frame)
    box.offer_item(b"c")
    assert box.take() == [b"a|b"]
    assert box.take() == [frame]
    assert box.take() == [b"c"]


async def test_items_sealed_aside_keep_their_numbers_in_call_order() -> None:
    codec = _codec()
    sealer = Sealer(codec)
    large, small = _lent(b"x" * ASIDE_BYTES), _lent(b"y" * LARGE)
    frames = await asyncio.gather(
        sealer.lent_aside(large), sealer.lent_aside(small), sealer.lent_aside(large)
    )
    assert [codec.open(frame, frame.buffers)[0].seq for frame in frames] == [1, 2, 3]
