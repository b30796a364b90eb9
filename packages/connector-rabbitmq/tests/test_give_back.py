"""A closing receiver gives back the items the channel took and did not return (no broker).

The receiver here is made directly from a queue (no membership), so `close()` only stops
consuming, gives back and acknowledges: enough to see the order of publish and ack.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aio_pika
import pytest
from pamqp.commands import Basic

from connector_core.codec import Codec
from connector_core.framing import pack_frames, unpack_frames
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT
from connector_core.transport import Verifier
from connector_rabbitmq.consumer import Consumer
from connector_rabbitmq.messages import BATCH
from connector_rabbitmq.receiver import RabbitMQReceiver

pytestmark = pytest.mark.asyncio(loop_scope="session")

CODEC = Codec.generate()
_SEQ = itertools.count(1)
_QUEUES = itertools.count(1)


@dataclass
class FakeMessage:
    """Just what the consumer reads from an aio-pika IncomingMessage, and how it was settled."""

    body: bytes
    message_id: str
    channel: Any
    delivery_tag: int
    events: list[str]
    type: str = BATCH
    app_id: str = "s-1"
    redelivered: bool = False
    headers: dict[str, Any] = field(default_factory=dict)
    nacked: list[bool] = field(default_factory=list)

    async def ack(self, multiple: bool = False) -> None:
        self.events.append(f"ack {self.message_id}")

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        self.nacked.append(requeue)
        self.events.append(f"nack {self.message_id}")

    async def reject(self, requeue: bool = False) -> None:
        self.events.append(f"reject {self.message_id}")


class FakeExchange:
    """The default exchange: records what is published; `confirm` is the broker's answer."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.published: list[tuple[aio_pika.Message, str]] = []
        self.confirm: asyncio.Future[None] | None = None
        self.full = False
        self.publishing = asyncio.Event()

    async def publish(self, message: aio_pika.Message, routing_key: str, mandatory: bool) -> None:
        if self.full:  # the broker refuses it: the queue is full (reject-publish)
            raise aio_pika.exceptions.DeliveryError(None, Basic.Nack())
        self.published.append((message, routing_key))
        self.events.append(f"publish {message.message_id}")
        self.publishing.set()
        if self.confirm is not None:
            await self.confirm
        self.events.append(f"confirmed {message.message_id}")


class FakeChannel:
    is_closed = False

    def __init__(self, events: list[str]) -> None:
        self.default_exchange = FakeExchange(events)


class FakeQueue:
    def __init__(self, channel: FakeChannel) -> None:
        self.name = f"q-give-back-{next(_QUEUES)}"
        self.channel = channel


@dataclass
class Setup:
    receiver: RabbitMQReceiver
    exchange: FakeExchange
    events: list[str]
    batch: FakeMessage

    @property
    def consumer(self) -> Consumer:
        return self.receiver.consumer


async def _receiver_holding_a_batch(timeout: float | None = None) -> Setup:
    """A receiver that handed out a frame of three items, the last of its message (held)."""
    events: list[str] = []
    channel = FakeChannel(events)
    queue: Any = FakeQueue(channel)
    receiver = RabbitMQReceiver(queue, 4, Verifier(CODEC, "test receiver"), timeout=timeout)
    body = pack_frames([CODEC.reseal(b"abc", b"sender-1", next(_SEQ), 3)])
    batch = FakeMessage(body, "s-1.0", channel, 1, events)
    await receiver.consumer._on_message(batch)  # type: ignore[arg-type]
    assert receiver.try_recv() == b"abc"
    assert receiver.consumer.held is not None
    return Setup(receiver, channel.default_exchange, events, batch)


def _given_frame() -> bytes:
    return CODEC.seal(["b", "c"], b"channel-1", 1)


async def test_the_given_back_frame_is_published_to_the_queue_as_a_message_of_one_frame() -> None:
    setup = await _receiver_holding_a_batch()
    frame = _given_frame()
    setup.receiver.give_back(frame, 2)
    await setup.receiver.close()
    [(message, routing_key)] = setup.exchange.published
    assert routing_key == setup.consumer.queue.name  # the default exchange routes by name
    assert unpack_frames(message.body) == [frame]
    assert message.type == BATCH
    assert message.app_id == setup.receiver.party
    assert message.message_id == f"{setup.receiver.party}.0"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT


async def test_the_held_message_is_acknowledged_only_once_the_given_back_frame_is_confirmed() -> (
    None
):
    setup = await _receiver_holding_a_batch()
    setup.exchange.confirm = asyncio.get_running_loop().create_future()
    setup.receiver.give_back(_given_frame(), 2)
    closing = asyncio.create_task(setup.receiver.close())
    async with asyncio.timeout(STEP_TIMEOUT):
        await setup.exchange.publishing.wait()
    assert setup.events == [f"publish {setup.receiver.party}.0"]  # not acknowledged yet
    setup.exchange.confirm.set_result(None)
    async with asyncio.timeout(STEP_TIMEOUT):
        await closing
    party = setup.receiver.party
    assert setup.events == [f"publish {party}.0", f"confirmed {party}.0", "ack s-1.0"]


async def test_without_a_given_back_frame_the_held_message_is_acknowledged_on_close() -> None:
    setup = await _receiver_holding_a_batch()
    await setup.receiver.close()
    assert setup.exchange.published == []
    assert setup.events == ["ack s-1.0"]


async def test_a_frame_that_finds_no_room_in_time_sends_its_message_back_instead() -> None:
    """The queue stays full past the wait: the held message is requeued, not acknowledged.

    Its last frame counts as not handed out any more, so the copy the broker redelivers
    hands it out again (the items of it the channel had returned come twice; none is lost).
    """
    setup = await _receiver_holding_a_batch(timeout=0.1)
    setup.exchange.full = True
    setup.receiver.give_back(_given_frame(), 2)
    await setup.receiver.close()
    assert setup.exchange.published == []
    assert setup.events == ["nack s-1.0"]
    assert setup.batch.nacked == [True]  # requeued
    assert setup.consumer.handed.handed("s-1.0") == 0


async def test_a_pubsub_receiver_drops_the_given_back_frame() -> None:
    events: list[str] = []
    queue: Any = FakeQueue(FakeChannel(events))
    membership: Any = SimpleNamespace(
        mode=ConnectorMode.PUBSUB, party="r-1", log=SimpleNamespace(on_change=lambda _: None)
    )
    receiver = RabbitMQReceiver(queue, 4, Verifier(CODEC, "test receiver"), membership)
    receiver.give_back(_given_frame(), 2)
    assert not receiver.given_back


async def test_taking_back_a_frame_of_a_message_still_in_the_fifo_leaves_the_message_there() -> (
    None
):
    """Its message, not finished, goes back to the broker when the AMQP channel closes."""
    events: list[str] = []
    channel = FakeChannel(events)
    queue: Any = FakeQueue(channel)
    consumer = RabbitMQReceiver(queue, 4, Verifier(CODEC, "test receiver")).consumer
    frames = [
        CODEC.reseal(b"ab", b"sender-1", next(_SEQ), 2),
        CODEC.reseal(b"c", b"sender-1", next(_SEQ), 1),
    ]
    message: Any = FakeMessage(pack_frames(frames), "s-1.7", channel, 1, events)
    await consumer._on_message(message)
    assert consumer.next_frame() == b"ab"
    assert consumer.take_back_last() is None
    assert consumer.handed.handed("s-1.7") == 0
    assert consumer.fifo[0].message is message
