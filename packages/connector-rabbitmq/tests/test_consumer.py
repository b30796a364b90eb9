"""The consumer without a broker: verification on arrival, hand-over order, dedup, acks."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, cast

import aio_pika
import pytest

from connector_core.codec import Codec
from connector_core.framing import pack_frames
from connector_core.transport import Verifier
from connector_rabbitmq.consumer import Consumer
from connector_rabbitmq.delivery import Delivery
from connector_rabbitmq.handed import HandedLog
from connector_rabbitmq.messages import EOS, marker_body
from connector_rabbitmq.retries import body_digest, marked_retry

pytestmark = pytest.mark.asyncio(loop_scope="session")

CODEC = Codec.generate()


@dataclass
class FakeAMQPChannel:
    is_closed: bool = False


@dataclass
class FakeMessage:
    """Just what `Consumer` reads from an aio-pika IncomingMessage."""

    body: bytes
    message_id: str
    channel: FakeAMQPChannel
    delivery_tag: int
    type: str = "batch"
    app_id: str = "s-1"
    redelivered: bool = False
    headers: dict[str, Any] = field(default_factory=dict)
    acked: list[tuple[int, bool]] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)

    async def ack(self, multiple: bool = False) -> None:
        self.acked.append((self.delivery_tag, multiple))

    async def reject(self, requeue: bool = False) -> None:
        assert not requeue
        self.rejected.append(self.delivery_tag)


class FakeQueue:
    def __init__(self, name: str) -> None:
        self.name = name


def _consumer(name: str) -> Consumer:
    verifier = Verifier(CODEC, "test receiver")
    return Consumer(FakeAMQPChannel(), FakeQueue(name), 4, verifier)  # type: ignore[arg-type]


_SEQ = itertools.count(1)


def _signed(*payloads: bytes, items: int = 1) -> bytes:
    """A batch body whose frames are sealed with the connection's key, each one new.

    The payloads are sealed as they are (`Codec.reseal` adds no layout byte), so the
    consumer hands out exactly these bytes.

    Args:
        *payloads: The payload of each frame.
        items: Optional; how many items each frame says it carries (`send_many()`).
    """
    return pack_frames([CODEC.reseal(p, b"sender-1", next(_SEQ), items) for p in payloads])


def _frames(consumer: Consumer) -> list[bytes]:
    """Takes every payload the FIFO holds now."""
    out = []
    while (got := consumer.next_frame()) is not None:
        assert isinstance(got, bytes)
        out.append(got)
    return out


def _held(consumer: Consumer) -> str | None:
    """The message id of the consumer's held message, if any."""
    return None if consumer.held is None else consumer.held.message_id


async def _deliver(consumer: Consumer, message: Any) -> None:
    await consumer._on_message(message)


async def test_frames_come_out_in_order_and_finished_messages_are_acked_once() -> None:
    consumer = _consumer("q-order")
    channel = FakeAMQPChannel()
    first = FakeMessage(_signed(b"a", b"b"), "s-1.0", channel, 1)
    second = FakeMessage(_signed(b"c"), "s-1.1", channel, 2)
    await _deliver(consumer, first)
    await _deliver(consumer, second)
    assert _frames(consumer) == [b"a", b"b", b"c"]
    await consumer.flush_acks()
    assert first.acked == []  # covered by the batched ack of the newer message
    assert second.acked == [(2, True)]
    assert consumer.verifier.rejected == 0


async def test_pending_items_count_the_items_of_each_frame_not_the_frames() -> None:
    consumer = _consumer("q-items")
    channel = FakeAMQPChannel()
    await _deliver(consumer, FakeMessage(_signed(b"abc", items=3), "s-1.0", channel, 1))
    await _deliver(consumer, FakeMessage(_signed(b"d", b"e"), "s-1.1", channel, 2))
    assert consumer.pending_items() == 5
    assert consumer.next_frame() == b"abc"
    assert consumer.pending_items() == 2


async def test_a_message_ending_in_a_frame_of_several_items_is_held_until_the_next_frame() -> None:
    consumer = _consumer("q-held")
    channel = FakeAMQPChannel()
    batch = FakeMessage(_signed(b"a", b"bcd", items=3), "s-1.0", channel, 1)
    await _deliver(consumer, batch)
    assert consumer.next_frame() == b"a"
    assert consumer.next_frame() == b"bcd"  # the channel keeps two of its items
    assert _held(consumer) == "s-1.0"  # unacknowledged: it keeps its prefetch place
    assert consumer.next_frame() is None  # the channel asks for more: all its items are out
    assert _held(consumer) is None
    await consumer.flush_acks()
    assert batch.acked == [(1, True)]


async def test_a_message_ending_in_a_frame_of_one_item_is_not_held() -> None:
    consumer = _consumer("q-not-held")
    channel = FakeAMQPChannel()
    message = FakeMessage(_signed(b"abc", b"d", items=1), "s-1.0", channel, 1)
    await _deliver(consumer, message)
    assert _frames(consumer) == [b"abc", b"d"]
    assert _held(consumer) is None
    assert not consumer.fifo


async def test_flushing_acks_acknowledges_the_held_message() -> None:
    consumer = _consumer("q-held-close")
    channel = FakeAMQPChannel()
    batch = FakeMessage(_signed(b"abc", items=3), "s-1.0", channel, 1)
    await _deliver(consumer, batch)
    assert consumer.next_frame() == b"abc"
    await consumer.flush_acks()  # a closing receiver
    assert _held(consumer) is None
    assert batch.acked == [(1, True)]


async def test_a_redelivered_copy_resumes_after_what_was_handed_out() -> None:
    consumer = _consumer("q-redeliver")
    old = FakeAMQPChannel()
    message = FakeMessage(_signed(b"a", b"b", b"c"), "s-1.0", old, 1)
    await _deliver(consumer, message)
    assert consumer.next_frame() == b"a"
    old.is_closed = True  # the connection dropped: the rest will be redelivered
    assert consumer.next_frame() is None
    copy = FakeMessage(message.body, "s-1.0", FakeAMQPChannel(), 1, redelivered=True)
    await _deliver(consumer, copy)
    assert _frames(consumer) == [b"b", b"c"]
    assert consumer.duplicates == 1


def _retry(message: FakeMessage, attempt: int, codec: Codec = CODEC) -> FakeMessage:
    """A copy of `message` as its publisher sends it again: retry `attempt`, marked."""
    sent = aio_pika.Message(message.body, message_id=message.message_id, type=message.type)
    marked = marked_retry(codec, sent, attempt, body_digest(message.body))
    tag = message.delivery_tag + attempt
    return FakeMessage(
        message.body, message.message_id, message.channel, tag, headers=marked.headers
    )


async def test_a_marked_retry_of_a_message_taken_before_is_a_duplicate_not_a_replay() -> None:
    consumer = _consumer("q-retry")
    message = FakeMessage(_signed(b"a", b"b"), "s-1.0", FakeAMQPChannel(), 1)
    await _deliver(consumer, message)
    await _deliver(consumer, _retry(message, 1))  # a full queue elsewhere refused the publish
    assert _frames(consumer) == [b"a", b"b"]
    assert consumer.duplicates == 2
    assert consumer.verifier.rejected == 0
    await consumer.flush_acks()
    assert message.rejected == []


async def test_a_copy_of_a_message_handed_out_already_is_acknowledged_on_arrival() -> None:
    consumer = _consumer("q-retry-late")
    message = FakeMessage(_signed(b"a", b"b"), "s-1.0", FakeAMQPChannel(), 1)
    await _deliver(consumer, message)
    assert _frames(consumer) == [b"a", b"b"]
    copy = _retry(message, 1)
    await _deliver(consumer, copy)  # no recv() needed: it holds no place in the window
    assert copy.acked == [(copy.delivery_tag, False)]
    assert not consumer.fifo
    assert consumer.duplicates == 2
    assert consumer.verifier.rejected == 0


async def test_the_same_retry_attempt_arriving_again_is_a_replay() -> None:
    consumer = _consumer("q-retry-replayed")
    message = FakeMessage(_signed(b"a"), "s-1.0", FakeAMQPChannel(), 1)
    await _deliver(consumer, message)
    await _deliver(consumer, _retry(message, 1))
    await _deliver(consumer, _retry(message, 1))  # captured and published again
    assert _frames(consumer) == [b"a"]
    assert consumer.verifier.rejected == 1


async def test_a_retry_marked_without_the_key_is_a_replay() -> None:
    consumer = _consumer("q-retry-forged")
    message = FakeMessage(_signed(b"a"), "s-1.0", FakeAMQPChannel(), 1)
    await _deliver(consumer, message)
    await _deliver(consumer, _retry(message, 1, Codec.generate()))
    assert _frames(consumer) == [b"a"]
    assert consumer.verifier.rejected == 1


async def test_a_forged_message_is_counted_and_dead_lettered_on_arrival() -> None:
    consumer = _consumer("q-forged")
    channel = FakeAMQPChannel()
    forged = FakeMessage(pack_frames([b"\0" * 32 + b"x", b"\0" * 32 + b"y"]), "s-1.0", channel, 1)
    await _deliver(consumer, forged)
    # Nobody has taken anything yet: the message was checked the moment it arrived.
    assert consumer.verifier.rejected == 2
    assert not consumer.fifo
    await consumer.flush_acks()
    assert forged.rejected == [1]
    assert forged.acked == []


async def test_frames_that_never_verified_do_not_make_a_later_message_a_duplicate() -> None:
    consumer = _consumer("q-forged-id")
    channel = FakeAMQPChannel()
    junk = FakeMessage(pack_frames([b"x", b"y", b"z"]), "s-1.0", channel, 1)
    await _deliver(consumer, junk)
    assert _frames(consumer) == []
    real = FakeMessage(_signed(b"a", b"b", b"c", b"d"), "s-1.0", channel, 2)
    await _deliver(consumer, real)
    assert _frames(consumer) == [b"a", b"b", b"c", b"d"]
    assert consumer.duplicates == 0
    assert consumer.verifier.rejected == 3


async def test_receivers_of_one_queue_in_one_process_share_the_handed_log() -> None:
    first, second = _consumer("q-shared"), _consumer("q-shared")
    assert first.handed is second.handed
    assert isinstance(first.handed, HandedLog)


@pytest.mark.parametrize("body", [b"garbage", b"", pack_frames([])], ids=["junk", "empty", "none"])
async def test_a_body_without_a_verified_frame_is_rejected_at_once(body: bytes) -> None:
    consumer = _consumer(f"q-bad-{len(body)}")
    channel = FakeAMQPChannel()
    bad = FakeMessage(body, "x", channel, 1)
    good = FakeMessage(_signed(b"ok"), "s-1.1", channel, 2)
    await _deliver(consumer, bad)
    await _deliver(consumer, good)
    assert consumer.verifier.rejected == 1
    assert _frames(consumer) == [b"ok"]
    await consumer.flush_acks()
    assert bad.rejected == [1]
    assert bad.acked == []
    assert good.acked == [(2, True)]


async def test_a_message_mixing_verified_and_forged_frames_hands_out_only_the_verified() -> None:
    consumer = _consumer("q-mixed")
    channel = FakeAMQPChannel()
    good = [CODEC.reseal(p, b"sender-1", next(_SEQ), 1) for p in (b"a", b"b")]
    body = pack_frames([good[0], b"\0" * 32 + b"forged", good[1]])
    mixed = FakeMessage(body, "s-1.0", channel, 1)
    after = FakeMessage(_signed(b"c"), "s-1.1", channel, 2)
    await _deliver(consumer, mixed)
    await _deliver(consumer, after)
    assert consumer.verifier.rejected == 1
    assert consumer.next_frame() == b"a"
    await consumer.flush_acks()
    assert mixed.rejected == []  # its verified frames are not all handed out yet
    assert _frames(consumer) == [b"b", b"c"]
    await consumer.flush_acks()
    assert mixed.rejected == [1]  # dead-lettered, never acknowledged
    assert mixed.acked == []
    assert after.acked == [(2, True)]


async def test_end_of_stream_marker_is_returned_as_a_delivery() -> None:
    consumer = _consumer("q-eos")
    marker = FakeMessage(b"", "s-1.eos", FakeAMQPChannel(), 1, type=EOS)
    await _deliver(consumer, marker)
    head = consumer.next_frame()
    assert head is not None
    assert isinstance(head, Delivery)
    assert head.is_eos
    assert head.sender == "s-1"
    assert consumer.verifier.rejected == 0


class SlowAckMessage(FakeMessage):
    """A message whose ack waits until the test lets it finish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ack_started = asyncio.Event()
        self.ack_may_finish = asyncio.Event()

    async def ack(self, multiple: bool = False) -> None:
        self.ack_started.set()
        await self.ack_may_finish.wait()
        await super().ack(multiple)


async def test_a_delivery_finished_while_an_ack_is_in_flight_is_acked_not_rejected() -> None:
    consumer = _consumer("q-settle-race")
    channel = FakeAMQPChannel()
    first = SlowAckMessage(_signed(b"a"), "s-1.0", channel, 1)
    marker = FakeMessage(b"", "s-1.eos", channel, 2, type=EOS)
    await _deliver(consumer, first)
    await _deliver(consumer, marker)
    assert consumer.next_frame() == b"a"  # finishes `first`: its ack starts in the background
    await first.ack_started.wait()
    head = consumer.next_frame()
    assert head is not None
    assert isinstance(head, Delivery)
    consumer.finish(head)  # the end marker, good, finished while the ack is in flight
    first.ack_may_finish.set()
    await consumer.flush_acks()
    assert marker.rejected == []
    assert marker.acked == [(2, True)]


def _marker(tag: int, channel: FakeAMQPChannel, codec: Codec = CODEC) -> FakeMessage:
    """Sender s-1's end-of-stream marker, signed with `codec`."""
    return FakeMessage(marker_body(codec, "s-1"), "s-1.eos", channel, tag, type=EOS)


def _head_marker(consumer: Consumer) -> Delivery:
    """The end-of-stream marker at the head of the FIFO."""
    head = consumer.next_frame()
    assert isinstance(head, Delivery)
    return head


async def test_a_copy_of_a_marker_waiting_in_the_fifo_is_acknowledged_on_arrival() -> None:
    consumer = _consumer("q-marker-copy")
    channel = FakeAMQPChannel()
    await _deliver(consumer, _marker(1, channel))
    copy = _marker(2, channel)  # a retry of the marker's publish left it
    await _deliver(consumer, copy)
    assert copy.acked == [(2, False)]
    assert len(consumer.fifo) == 1


async def test_a_copy_of_a_settled_marker_is_acknowledged_on_arrival() -> None:
    consumer = _consumer("q-marker-settled")
    channel = FakeAMQPChannel()
    await _deliver(consumer, _marker(1, channel))
    consumer.finish(_head_marker(consumer))
    copy = _marker(2, channel)
    await _deliver(consumer, copy)
    assert copy.acked == [(2, False)]
    assert not consumer.fifo


async def test_a_forged_copy_of_a_marker_is_not_taken_for_a_duplicate() -> None:
    consumer = _consumer("q-marker-forged")
    channel = FakeAMQPChannel()
    await _deliver(consumer, _marker(1, channel))
    forged = _marker(2, channel, Codec.generate())
    await _deliver(consumer, forged)
    assert forged.acked == []
    assert len(consumer.fifo) == 2  # settled, dropped and counted at the head in turn


async def test_a_marker_whose_first_copy_died_with_its_channel_is_kept() -> None:
    consumer = _consumer("q-marker-redelivered")
    old = FakeAMQPChannel()
    await _deliver(consumer, _marker(1, old))
    old.is_closed = True  # the broker redelivers it on the recovered channel
    again = _marker(1, FakeAMQPChannel())
    again.redelivered = True
    await _deliver(consumer, again)
    assert again.acked == []
    assert _head_marker(consumer).message is cast(Any, again)
