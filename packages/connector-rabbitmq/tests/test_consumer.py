"""The consumer's local FIFO without a broker: hand-over order, dedup of redeliveries, acks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from connector_rabbitmq.consumer import Consumer, HandedLog
from connector_rabbitmq.envelope import EOS, pack

pytestmark = pytest.mark.asyncio(loop_scope="session")


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
    acked: list[tuple[int, bool]] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)

    async def ack(self, multiple: bool = False) -> None:
        self.acked.append((self.delivery_tag, multiple))

    async def reject(self, requeue: bool = False) -> None:
        self.rejected.append(self.delivery_tag)


class FakeQueue:
    def __init__(self, name: str) -> None:
        self.name = name


def _consumer(name: str) -> Consumer:
    return Consumer(FakeAMQPChannel(), FakeQueue(name), prefetch=4)  # type: ignore[arg-type]


def _frames(consumer: Consumer, *, verify: bool = True) -> list[bytes]:
    """Takes every frame, confirming each as verified the way the channel does."""
    out = []
    while (got := consumer.next_frame()) is not None:
        assert isinstance(got, tuple)
        if verify:
            consumer.verified(got[0])
        out.append(got[1])
    return out


async def _deliver(consumer: Consumer, message: Any) -> None:
    await consumer._on_message(message)


async def test_frames_come_out_in_order_and_finished_messages_are_acked_once() -> None:
    consumer = _consumer("q-order")
    channel = FakeAMQPChannel()
    first = FakeMessage(pack([b"a", b"b"]), "s-1.0", channel, 1)
    second = FakeMessage(pack([b"c"]), "s-1.1", channel, 2)
    await _deliver(consumer, first)
    await _deliver(consumer, second)
    assert _frames(consumer) == [b"a", b"b", b"c"]
    await consumer.flush_acks()
    assert first.acked == []  # covered by the batched ack of the newer message
    assert second.acked == [(2, True)]


async def test_a_redelivered_copy_resumes_after_what_was_handed_out() -> None:
    consumer = _consumer("q-redeliver")
    old = FakeAMQPChannel()
    message = FakeMessage(pack([b"a", b"b", b"c"]), "s-1.0", old, 1)
    await _deliver(consumer, message)
    got = consumer.next_frame()
    assert isinstance(got, tuple)
    assert got[1] == b"a"
    consumer.verified(got[0])
    old.is_closed = True  # the connection dropped: the rest will be redelivered
    assert consumer.next_frame() is None
    copy = FakeMessage(pack([b"a", b"b", b"c"]), "s-1.0", FakeAMQPChannel(), 1)
    await _deliver(consumer, copy)
    assert _frames(consumer) == [b"b", b"c"]
    assert consumer.duplicates == 1


async def test_frames_that_never_verified_do_not_make_a_later_message_a_duplicate() -> None:
    consumer = _consumer("q-forged-id")
    channel = FakeAMQPChannel()
    junk = FakeMessage(pack([b"x", b"y", b"z"]), "s-1.0", channel, 1)
    await _deliver(consumer, junk)
    assert _frames(consumer, verify=False) == [b"x", b"y", b"z"]  # all rejected
    real = FakeMessage(pack([b"a", b"b", b"c", b"d"]), "s-1.0", channel, 2)
    await _deliver(consumer, real)
    assert _frames(consumer) == [b"a", b"b", b"c", b"d"]
    assert consumer.duplicates == 0


async def test_receivers_of_one_queue_in_one_process_share_the_handed_log() -> None:
    first, second = _consumer("q-shared"), _consumer("q-shared")
    assert first.handed is second.handed
    assert isinstance(first.handed, HandedLog)


async def test_a_malformed_message_is_returned_for_rejection_not_as_frames() -> None:
    consumer = _consumer("q-bad")
    channel = FakeAMQPChannel()
    bad = FakeMessage(b"garbage", "x", channel, 1)
    good = FakeMessage(pack([b"ok"]), "s-1.1", channel, 2)
    await _deliver(consumer, bad)
    await _deliver(consumer, good)
    head = consumer.next_frame()
    assert not isinstance(head, tuple)
    assert head is not None
    assert head.error is not None
    head.bad = True
    consumer.finish(head)
    assert _frames(consumer) == [b"ok"]
    await consumer.flush_acks()
    assert bad.rejected == [1]
    assert good.acked == [(2, True)]


async def test_end_of_stream_marker_is_returned_as_a_delivery() -> None:
    consumer = _consumer("q-eos")
    marker = FakeMessage(b"", "s-1.eos", FakeAMQPChannel(), 1, type=EOS)
    await _deliver(consumer, marker)
    head = consumer.next_frame()
    assert head is not None
    assert not isinstance(head, tuple)
    assert head.is_eos
    assert head.sender == "s-1"


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
    first = SlowAckMessage(pack([b"a"]), "s-1.0", channel, 1)
    marker = FakeMessage(b"", "s-1.eos", channel, 2, type=EOS)
    await _deliver(consumer, first)
    await _deliver(consumer, marker)
    got = consumer.next_frame()  # finishes `first`: its ack starts in the background
    assert isinstance(got, tuple)
    assert got[1] == b"a"
    await first.ack_started.wait()
    head = consumer.next_frame()
    assert head is not None
    assert not isinstance(head, tuple)
    consumer.finish(head)  # the end marker, good, finished while the ack is in flight
    first.ack_may_finish.set()
    await consumer.flush_acks()
    assert marker.rejected == []
    assert marker.acked == [(2, True)]
