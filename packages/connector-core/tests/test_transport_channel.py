"""`TransportChannel`: core's one channel class, over small fake transports written here.

The fakes record what the channel asks of them, so each test proves one thing the channel does
(or leaves to its transport). Tasks get one scheduling step (`asyncio.sleep(0)`) to park on
their future; whatever must finish is awaited under `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
from collections import deque
from typing import Any

import pytest

from connector_core import (
    ChannelClosedError,
    ChannelDecodeError,
    ChannelError,
    ChannelSerializationError,
    Codec,
)
from connector_core.payload import LIST, Payload, WithBuffers
from connector_core.sealer import ASIDE_BYTES
from connector_core.testing import error_in_another_loop
from connector_core.transport import RecvTransport, SendTransport, Verifier
from connector_core.transport_channel import BATCH_BYTES, TransportChannel

DEADLINE = 10.0
"""Seconds anything awaited here may take before it counts as a hang."""


class FakeSender:
    """A send transport with room for `room` frames taken by `try_send`."""

    def __init__(self, room: int = 100, batch_items: int = 1000) -> None:
        self.room = room
        self.batch_items = batch_items
        self.frames: list[bytes] = []
        self.items: list[int] = []  # items of each frame taken
        self.calls: list[str] = []
        self.closes = 0
        self.close_gate: asyncio.Event | None = None
        self.room_gate = asyncio.Event()

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        self.calls.append("try_send")
        if len(self.frames) >= self.room:
            return False
        self.frames.append(frame)
        self.items.append(items)
        return True

    async def send(self, frame: bytes, items: int = 1) -> None:
        self.calls.append("send")
        await self.room_gate.wait()
        self.frames.append(frame)
        self.items.append(items)

    async def close(self) -> None:
        self.closes += 1
        if self.close_gate is not None:
            await self.close_gate.wait()

    def buffered(self) -> int:
        return 3

    def peer_counts(self) -> tuple[int, int]:
        return (1, 2)


class FakeReceiver:
    """A receive transport fed by `deliver(payload)` and ended by `end()`."""

    def __init__(self, codec: Codec) -> None:
        self.verifier = Verifier(codec, owner="FakeReceiver")
        self.payloads: deque[Payload] = deque()
        self.calls: list[str] = []
        self.closes = 0
        self.ended = False
        self.closed = False
        self.given_back: list[tuple[bytes, int]] = []
        self._changed = asyncio.Event()

    def deliver(self, payload: Payload) -> None:
        self.payloads.append(payload)
        self._changed.set()

    def end(self) -> None:
        self.ended = True
        self._changed.set()

    def try_recv(self) -> Payload | None:
        self.calls.append("try_recv")
        return self.payloads.popleft() if self.payloads else None

    async def recv(self) -> Payload:
        self.calls.append("recv")
        while not self.payloads:
            if self.closed or self.ended:
                raise ChannelClosedError("the fake connection has ended")
            self._changed.clear()
            await self._changed.wait()
        return self.payloads.popleft()

    def give_back(self, frame: bytes, items: int) -> None:
        self.calls.append("give_back")
        self.given_back.append((frame, items))

    async def close(self) -> None:
        self.calls.append("close")
        self.closes += 1
        self.closed = True
        self._changed.set()

    def buffered(self) -> int:
        return len(self.payloads) + 10

    def peer_counts(self) -> tuple[int, int]:
        return (4, 5)


def _payload(codec: Codec, item: Any) -> bytes:
    return codec.serializer.dumps([item]) + LIST


def _item_of(codec: Codec, frame: bytes) -> Any:
    header, payload = codec.open(frame)
    [item] = codec.loads_items(payload, header.items)
    return item


def _sending(room: int = 100) -> tuple[TransportChannel, FakeSender]:
    tx = FakeSender(room)
    return TransportChannel(sender=tx, codec=Codec.generate(), maxsize=7), tx


def _receiving() -> tuple[TransportChannel, FakeReceiver, Codec]:
    codec = Codec.generate()
    rx = FakeReceiver(codec)
    return TransportChannel(receiver=rx, codec=codec, maxsize=7), rx, codec


async def _parked(coro: Any) -> asyncio.Task[Any]:
    task: asyncio.Task[Any] = asyncio.create_task(coro)
    await asyncio.sleep(0)  # one scheduling step: the task runs up to its first wait
    assert not task.done(), "expected the call to wait"
    return task


def test_the_fakes_are_transports() -> None:
    assert isinstance(FakeSender(), SendTransport)
    assert isinstance(FakeReceiver(Codec.generate()), RecvTransport)


def test_a_channel_needs_a_transport() -> None:
    with pytest.raises(TypeError, match="needs a sending or receiving transport"):
        TransportChannel()


# -- sending ---------------------------------------------------------------------------------


async def test_send_uses_try_send_when_the_transport_has_room() -> None:
    channel, tx = _sending()
    await channel.send("item")
    assert tx.calls == ["try_send"]
    assert _item_of(channel.codec, tx.frames[0]) == "item"
    assert channel.statistics().sent == 1


async def test_send_waits_in_send_when_try_send_refuses() -> None:
    channel, tx = _sending(room=0)
    sending = await _parked(channel.send("item"))
    assert tx.calls == ["try_send", "send"]
    assert channel.statistics().sent == 0
    tx.room_gate.set()
    async with asyncio.timeout(DEADLINE):
        await sending
    assert _item_of(channel.codec, tx.frames[0]) == "item"
    assert channel.statistics().sent == 1


async def test_a_large_item_is_sealed_off_the_event_loops_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel, tx = _sending()
    threads: list[int] = []
    seal = Codec._sealed  # what every kind of frame is sealed with

    def recording(codec: Codec, *args: Any) -> bytes:
        threads.append(threading.get_ident())
        return seal(codec, *args)

    monkeypatch.setattr(Codec, "_sealed", recording)
    large = b"x" * ASIDE_BYTES
    await channel.send(large)
    await channel.send(b"small")
    loop_thread = threading.get_ident()
    assert threads[0] != loop_thread
    assert threads[1] == loop_thread
    assert [_item_of(channel.codec, frame) for frame in tx.frames] == [large, b"small"]


async def test_items_sent_together_take_their_numbers_in_call_order() -> None:
    channel, tx = _sending()
    large = b"x" * ASIDE_BYTES
    async with asyncio.timeout(DEADLINE):
        await asyncio.gather(channel.send(large), channel.send(b"small"), channel.send(large))
    numbers = {
        channel.codec.open(frame)[0].seq: _item_of(channel.codec, frame) for frame in tx.frames
    }
    assert numbers == {1: large, 2: b"small", 3: large}


async def test_a_cancelled_send_is_not_counted() -> None:
    channel, _tx = _sending(room=0)
    sending = await _parked(channel.send("item"))
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert channel.statistics().sent == 0


async def test_an_unserializable_item_reaches_no_transport() -> None:
    channel, tx = _sending()
    with pytest.raises(ChannelSerializationError, match="cannot serialize"):
        await channel.send(threading.Lock())
    assert tx.calls == []


async def test_send_bytes_hands_the_frame_over_as_it_is() -> None:
    channel, tx = _sending()
    await channel.send_bytes(b"raw frame")
    assert tx.frames == [b"raw frame"]


async def test_send_on_a_closed_channel_raises_channel_closed_error() -> None:
    channel, tx = _sending()
    await channel.close()
    with pytest.raises(ChannelClosedError):
        await channel.send("late")
    assert tx.calls == []


async def test_a_receive_only_channel_cannot_send() -> None:
    channel, _rx, _codec = _receiving()
    with pytest.raises(ChannelError, match="made by connect_recv"):
        await channel.send("item")


# -- receiving -------------------------------------------------------------------------------


async def test_recv_uses_try_recv_when_a_payload_is_here() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(_payload(codec, "item"))
    assert await channel.recv() == "item"
    assert rx.calls == ["try_recv"]
    assert channel.statistics().received == 1


async def test_recv_waits_in_recv_when_nothing_is_here() -> None:
    channel, rx, codec = _receiving()
    receiving = await _parked(channel.recv())
    assert rx.calls == ["try_recv", "recv"]
    rx.deliver(_payload(codec, "item"))
    async with asyncio.timeout(DEADLINE):
        assert await receiving == "item"


async def test_recv_looks_once_before_it_waits_in_recv() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(_payload(codec, "first"))
    assert await channel.recv() == "first"  # the channel is bound to this loop now
    rx.calls.clear()
    receiving = await _parked(channel.recv())
    assert rx.calls == ["try_recv", "recv"]
    rx.deliver(_payload(codec, "second"))
    async with asyncio.timeout(DEADLINE):
        assert await receiving == "second"


async def test_recv_bytes_returns_the_payload_undecoded() -> None:
    channel, rx, _codec = _receiving()
    rx.deliver(b"not decoded")
    assert await channel.recv_bytes() == b"not decoded"
    assert channel.statistics().received == 0


async def test_recv_bytes_returns_bytes_for_a_payload_read_in_place() -> None:
    channel, rx, _codec = _receiving()
    rx.deliver(memoryview(b"a large payload, a view of its frame"))
    got = await channel.recv_bytes()
    assert type(got) is bytes
    assert got == b"a large payload, a view of its frame"


async def test_recv_bytes_returns_a_payload_with_buffers_as_it_is() -> None:
    channel, rx, _codec = _receiving()
    payload = WithBuffers(b"a payload whose buffers came beside its frame")
    payload.buffers = [b"buffer"]
    rx.deliver(payload)
    got = await channel.recv_bytes()
    assert got is payload
    assert got.buffers == [b"buffer"]


async def test_recv_decodes_a_payload_read_in_place() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(memoryview(_payload(codec, {"large": "item"})))
    assert await channel.recv() == {"large": "item"}


async def test_an_undecodable_payload_raises_once_and_the_channel_goes_on() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(b"\x80\x05 not a pickle")
    rx.deliver(_payload(codec, "next"))
    with pytest.raises(ChannelDecodeError):
        await channel.recv()
    assert await channel.recv() == "next"
    assert channel.statistics().received == 1


async def test_a_send_only_channel_cannot_receive() -> None:
    channel, _tx = _sending()
    with pytest.raises(ChannelError, match="made by connect_send\\(\\): it cannot receive"):
        await channel.recv()


async def test_recv_on_a_closed_channel_raises_without_asking_the_transport() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(_payload(codec, "left behind"))
    await channel.close()
    with pytest.raises(ChannelClosedError):
        await channel.recv()
    assert rx.calls == ["close"]  # the one from close(); recv() asked nothing


# -- the end of the stream and close ---------------------------------------------------------


async def test_the_end_of_the_stream_closes_the_receiver() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(_payload(codec, "last"))
    rx.end()
    assert await channel.recv() == "last"
    with pytest.raises(ChannelClosedError):
        await channel.recv()
    assert channel.is_closed
    assert rx.closes == 1


async def test_the_end_of_the_stream_releases_the_transport_once() -> None:
    channel, rx, _codec = _receiving()
    rx.end()
    for _ in range(3):
        with pytest.raises(ChannelClosedError):
            await channel.recv()
    await channel.close()
    assert rx.closes == 1


async def test_async_for_ends_with_the_stream() -> None:
    channel, rx, codec = _receiving()
    for item in (1, 2):
        rx.deliver(_payload(codec, item))
    rx.end()
    async with asyncio.timeout(DEADLINE):
        assert [item async for item in channel] == [1, 2]
    assert channel.is_closed


async def test_close_wakes_a_waiting_recv_and_releases_the_transport_once() -> None:
    channel, rx, _codec = _receiving()
    receiving = await _parked(channel.recv())
    await channel.close()
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ChannelClosedError):
            await receiving
    assert rx.closes == 1


async def test_close_is_idempotent() -> None:
    channel, tx = _sending()
    await channel.close()
    await channel.close()
    assert channel.is_closed
    assert tx.closes == 1


async def test_concurrent_closes_release_the_transport_once() -> None:
    channel, tx = _sending()
    tx.close_gate = asyncio.Event()
    first = await _parked(channel.close())
    second = await _parked(channel.close())
    assert channel.is_closed
    tx.close_gate.set()
    async with asyncio.timeout(DEADLINE):
        await asyncio.gather(first, second)
    assert tx.closes == 1


async def test_a_cancelled_close_still_releases_the_transport() -> None:
    channel, tx = _sending()
    tx.close_gate = asyncio.Event()
    closing = await _parked(channel.close())
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    later = await _parked(channel.close())  # waits for the same release
    tx.close_gate.set()
    async with asyncio.timeout(DEADLINE):
        await later
    assert tx.closes == 1


async def test_close_releases_both_transports_of_a_two_way_channel() -> None:
    codec = Codec.generate()
    tx, rx = FakeSender(), FakeReceiver(codec)
    channel = TransportChannel(sender=tx, receiver=rx, codec=codec)
    await channel.close()
    assert (tx.closes, rx.closes) == (1, 1)


async def test_close_reports_a_transport_that_failed_to_deliver() -> None:
    channel, tx = _sending()

    async def broken_close() -> None:
        raise ChannelError("could not deliver 3 frames")

    tx.close = broken_close  # type: ignore[method-assign]
    with pytest.raises(ChannelError, match="could not deliver"):
        await channel.close()
    assert channel.is_closed


async def test_a_two_way_channel_whose_sender_fails_to_deliver_still_releases_its_receiver() -> (
    None
):
    codec = Codec.generate()
    tx, rx = FakeSender(), FakeReceiver(codec)

    async def broken_close() -> None:
        raise ChannelError("could not deliver 3 frames")

    tx.close = broken_close  # type: ignore[method-assign]
    channel = TransportChannel(sender=tx, receiver=rx, codec=codec)
    with pytest.raises(ChannelError, match="could not deliver"):
        await channel.close()
    assert rx.closes == 1


# -- event loops -----------------------------------------------------------------------------


async def test_recv_from_another_event_loop_raises_and_the_channel_stays_usable() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(_payload(codec, "warm-up"))
    assert await channel.recv() == "warm-up"  # binds the channel to this loop
    rx.deliver(_payload(codec, "at home"))
    error = await asyncio.to_thread(error_in_another_loop, channel.recv)
    assert isinstance(error, ChannelError), error
    assert not isinstance(error, ChannelClosedError)
    assert "another event loop" in str(error)
    assert await channel.recv() == "at home"


async def test_send_from_another_event_loop_sends_nothing_and_the_channel_stays_usable() -> None:
    channel, tx = _sending()
    await channel.send("first")
    error = await asyncio.to_thread(error_in_another_loop, lambda: channel.send("away"))
    assert isinstance(error, ChannelError), error
    assert len(tx.frames) == 1
    await channel.send("at home")
    assert channel.statistics().sent == 2


async def test_close_from_another_event_loop_raises_and_leaves_the_channel_open() -> None:
    channel, tx = _sending()
    await channel.send("binds the loop")
    error = await asyncio.to_thread(error_in_another_loop, channel.close)
    assert isinstance(error, ChannelError), error
    assert not channel.is_closed
    assert tx.closes == 0
    await channel.close()
    assert tx.closes == 1


async def test_close_from_another_event_loop_during_a_close_at_home_raises_channel_error() -> None:
    channel, tx = _sending()
    tx.close_gate = asyncio.Event()
    closing = await _parked(channel.close())
    error = await asyncio.to_thread(error_in_another_loop, channel.close)
    assert isinstance(error, ChannelError), error
    assert "another event loop" in str(error)
    tx.close_gate.set()
    async with asyncio.timeout(DEADLINE):
        await closing
    assert tx.closes == 1


async def test_a_channel_given_its_loop_refuses_every_other_loop_from_the_start() -> None:
    other = asyncio.new_event_loop()
    try:
        channel = TransportChannel(sender=FakeSender(), codec=Codec.generate(), loop=other)
        with pytest.raises(ChannelError, match="another event loop"):
            await channel.send("item")
    finally:
        other.close()


# -- statistics and pickling -----------------------------------------------------------------


async def test_statistics_add_the_transports_buffered_frames() -> None:
    codec = Codec.generate()
    tx, rx = FakeSender(), FakeReceiver(codec)
    channel = TransportChannel(sender=tx, receiver=rx, codec=codec)
    assert channel.statistics().buffered == tx.buffered() + rx.buffered()


async def test_statistics_add_the_verifiers_rejected_frames() -> None:
    channel, rx, _codec = _receiving()
    rx.verifier.accept(b"forged")
    rx.verifier.drop("a batch that did not parse")
    channel.reject("dropped by the channel")
    assert channel.statistics().rejected == 3


async def test_statistics_report_the_transports_peer_counts() -> None:
    sender, _tx = _sending()
    receiver, _rx, _codec = _receiving()
    assert sender.statistics()[4:6] == (1, 2)
    assert receiver.statistics()[4:6] == (4, 5)
    assert sender.statistics().max_size == 7


async def test_pickling_a_channel_raises_type_error() -> None:
    channel, _tx = _sending()
    with pytest.raises(TypeError, match="cannot be pickled; pickle its connector"):
        pickle.dumps(channel)


# -- batches -----------------------------------------------------------------------------


def _sender_items(tx: FakeSender, codec: Codec) -> list[list[Any]]:
    return [codec.loads_items(codec.open(frame)[1]) for frame in tx.frames]


async def test_send_many_seals_one_frame_per_batch_and_states_its_items() -> None:
    channel, tx = _sending()
    await channel.send_many(range(7))
    assert _sender_items(tx, channel.codec) == [list(range(7))]
    assert tx.items == [7]
    assert channel.statistics().sent == 7


async def test_send_many_splits_at_the_transports_batch_items() -> None:
    codec = Codec.generate()
    tx = FakeSender(batch_items=4)
    channel = TransportChannel(sender=tx, codec=codec)
    await channel.send_many(range(10))
    assert tx.items == [4, 4, 2]
    assert [i for frame in _sender_items(tx, codec) for i in frame] == list(range(10))


async def test_send_many_splits_at_the_channels_maxsize() -> None:
    codec = Codec.generate()
    tx = FakeSender(batch_items=1000)
    channel = TransportChannel(sender=tx, codec=codec, maxsize=3)
    await channel.send_many(range(7))
    assert tx.items == [3, 3, 1]


async def test_send_many_splits_a_batch_whose_frame_would_exceed_batch_bytes() -> None:
    channel, tx = _sending()
    await channel.send_many([bytes([i]) * (BATCH_BYTES // 3) for i in range(7)])
    assert sum(tx.items) == 7
    assert len(tx.items) > 1
    assert all(len(frame) <= BATCH_BYTES for frame in tx.frames)


async def test_send_many_frames_carry_increasing_sequence_numbers() -> None:
    codec = Codec.generate()
    tx = FakeSender(batch_items=2)
    channel = TransportChannel(sender=tx, codec=codec)
    await channel.send_many(range(6))
    assert [codec.open(frame)[0].seq for frame in tx.frames] == [1, 2, 3]


async def test_recv_many_takes_what_the_transport_holds_without_waiting() -> None:
    channel, rx, codec = _receiving()
    for payload in ([1, 2], [3], [4, 5, 6]):
        rx.deliver(codec.serializer.dumps(payload) + LIST)
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv_many(100) == [1, 2, 3, 4, 5, 6]
    assert channel.statistics().received == 6


async def test_recv_many_leaves_the_items_beyond_max_items_for_the_next_call() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(codec.serializer.dumps([1, 2, 3, 4, 5]) + LIST)
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv_many(2) == [1, 2]
        assert await channel.recv() == 3
        assert await channel.recv_many(5) == [4, 5]


async def test_recv_many_returns_the_items_before_an_undecodable_payload_then_raises() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(codec.serializer.dumps([1, 2]) + LIST)
    rx.deliver(b"not a pickle")
    rx.deliver(codec.serializer.dumps([3]) + LIST)
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv_many(10) == [1, 2]
        with pytest.raises(ChannelDecodeError):
            await channel.recv_many(10)
        assert await channel.recv_many(10) == [3]


async def test_a_cancelled_recv_many_takes_nothing() -> None:
    channel, rx, codec = _receiving()
    waiting = await _parked(channel.recv_many(10))
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    rx.deliver(codec.serializer.dumps(["kept"]) + LIST)
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv_many(10) == ["kept"]


async def test_close_gives_the_items_taken_and_not_returned_back_before_closing() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(codec.serializer.dumps([1, 2, 3, 4]) + LIST)
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv() == 1
        await channel.close()
    [(frame, items)] = rx.given_back
    header, payload = codec.open(frame)
    assert (items, header.items, codec.loads_items(payload)) == (3, 3, [2, 3, 4])
    assert rx.calls[-2:] == ["give_back", "close"]


async def test_close_with_nothing_held_gives_nothing_back() -> None:
    channel, rx, codec = _receiving()
    rx.deliver(codec.serializer.dumps([1]) + LIST)
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv() == 1
        await channel.close()
    assert rx.given_back == []


async def test_send_bytes_passes_the_items_a_frame_carries() -> None:
    channel, tx = _sending()
    frame = channel.seal_bytes(channel.codec.serializer.dumps([1, 2]), items=2)
    await channel.send_bytes(frame, items=2)
    assert tx.items == [2]


class FakeItemSender(FakeSender):
    """A send transport that takes `send()`'s items unsealed and seals them in runs."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[bytes] = []
        self.seal: Any = None

    def seal_runs_with(self, seal: Any) -> None:
        self.seal = seal

    def try_send_item(self, payload: bytes) -> bool:
        self.payloads.append(payload)
        return True

    async def send_item(self, payload: bytes) -> None:
        self.payloads.append(payload)


async def test_send_hands_an_item_sender_the_item_serialized_and_unsealed() -> None:
    tx = FakeItemSender()
    codec = Codec.generate()
    channel = TransportChannel(sender=tx, codec=codec)
    assert tx.seal is not None
    await channel.send({"a": 1})
    await channel.send(2)
    assert tx.frames == []
    assert [codec.loads(p) for p in tx.payloads] == [{"a": 1}, 2]
    header, payload = codec.open(tx.seal(tx.payloads))
    assert (header.items, codec.loads_items(payload)) == (2, [{"a": 1}, 2])
    assert channel.statistics().sent == 2


async def test_an_unserializable_item_reaches_no_item_sender() -> None:
    tx = FakeItemSender()
    channel = TransportChannel(sender=tx, codec=Codec.generate())
    with pytest.raises(ChannelSerializationError):
        await channel.send(lambda: None)
    assert tx.payloads == []


class FakeControlSender(FakeSender):
    """A send transport that also dropped forged control messages of its backend."""

    def control_rejected(self) -> int:
        return 3


async def test_a_senders_dropped_control_messages_count_in_its_statistics() -> None:
    channel = TransportChannel(sender=FakeControlSender(), codec=Codec.generate())
    assert channel.statistics().rejected == 3


class HoldingReceiver(FakeReceiver):
    """A receive transport that keeps a place for the items the channel took."""

    def returned(self) -> None:
        self.calls.append("returned")


def _holding_three_items() -> tuple[TransportChannel, HoldingReceiver]:
    """A channel over a `HoldingReceiver` that holds one payload of items 1, 2 and 3."""
    codec = Codec.generate()
    rx = HoldingReceiver(codec)
    rx.deliver(codec.serializer.dumps([1, 2, 3]) + LIST)
    return TransportChannel(receiver=rx, codec=codec), rx


async def test_recv_tells_a_holding_transport_once_it_returned_every_item_it_took() -> None:
    channel, rx = _holding_three_items()
    async with asyncio.timeout(DEADLINE):
        assert [await channel.recv(), await channel.recv()] == [1, 2]
        assert "returned" not in rx.calls  # one item still kept
        assert await channel.recv() == 3
    assert rx.calls[-1] == "returned"


async def test_recv_many_tells_a_holding_transport_once_it_returned_every_item_it_took() -> None:
    channel, rx = _holding_three_items()
    async with asyncio.timeout(DEADLINE):
        assert await channel.recv_many(2) == [1, 2]
        assert "returned" not in rx.calls
        assert await channel.recv_many(2) == [3]
    assert rx.calls[-1] == "returned"
