"""A publish the broker refused and the publisher sent again: the copies the other queues
kept are duplicates, delivered once and neither counted as rejected nor dead-lettered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from connector_core.channel import Channel
from connector_core.codec import Codec
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.messages import batch_message
from connector_rabbitmq.retries import RETRY_HEADER, RetryLog, body_digest, marked_retry
from connector_rabbitmq.retries import retry_attempt as attempt_of
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.topology import limits

ITEMS = 300
MAXSIZE = 16
LIMITS = limits(MAXSIZE, ConnectorMode.PUBSUB)


async def _until(ready: Callable[[], bool]) -> None:
    async with asyncio.timeout(STEP_TIMEOUT):
        while not ready():  # noqa: ASYNC110 (a publisher's count: no event to await)
            await asyncio.sleep(0.005)


async def _two_subscribers_and_a_sender() -> tuple[Channel, Channel, Channel]:
    """Two subscribers and a sender of a new pubsub connection of `MAXSIZE` items."""
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PUBSUB), settings=Settings(end_grace=0.2), maxsize=MAXSIZE
    )
    first = await connector.connect_recv()
    second = await connector.connect_recv()
    return first, second, await connector.connect_send()


@pytest.mark.rabbitmq
@pytest.mark.asyncio(loop_scope="session")
async def test_a_full_subscriber_queue_makes_no_rejects_or_dead_letters_at_the_others(
    broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    fast, slow, sender = await _two_subscribers_and_a_sender()
    sending = asyncio.create_task(sender.send_many(range(ITEMS)))
    # The slow one reads nothing until the fast one has items of a message beyond the slow
    # one's room (its prefetch and its queue): the broker nacked that message's publish.
    room = LIMITS.stalled_room
    assert room is not None
    async with asyncio.timeout(STEP_TIMEOUT):
        early = [await fast.recv() for _ in range(room + 1)]
    fast_got = asyncio.create_task(drain(fast))
    slow_got = asyncio.create_task(drain(slow))
    await sending
    await sender.close()

    assert transport_of(sender, RabbitMQSender).publisher.retries > 0
    assert early + await fast_got == list(range(ITEMS))
    assert await slow_got == list(range(ITEMS))
    assert fast.statistics().rejected == 0
    assert slow.statistics().rejected == 0
    with caplog.at_level(logging.WARNING, "connector_rabbitmq.cleanup"):
        await fast.close()
        await slow.close()  # the last one out deletes the connection's queues
    assert [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()] == []


@pytest.mark.rabbitmq
@pytest.mark.asyncio(loop_scope="session")
async def test_a_sender_closes_while_a_subscriber_that_has_every_item_waits(
    broker: str,
) -> None:
    waiting, slow, sender = await _two_subscribers_and_a_sender()
    room = LIMITS.stalled_room
    assert room is not None
    await sender.send_many(range(room))  # as much as the slow one takes without reading
    async with asyncio.timeout(STEP_TIMEOUT):
        got = [await waiting.recv() for _ in range(room)]  # every item; then it waits
    closing = asyncio.create_task(sender.close())
    # The slow queue is full: the marker's publish is nacked and retried, each retry leaving
    # a copy with the waiting subscriber, more than its prefetch window and queue hold.
    publisher = transport_of(sender, RabbitMQSender).publisher
    await _until(lambda: publisher.retries > LIMITS.prefetch + (LIMITS.queue_length or 0))
    slow_got = await drain(slow)
    async with asyncio.timeout(STEP_TIMEOUT):
        await closing

    assert got == list(range(room))
    assert slow_got == list(range(room))
    assert await drain(waiting) == []
    assert waiting.statistics().rejected == 0
    await waiting.close()
    await slow.close()


def _message() -> Any:
    return batch_message([b"frame-1", b"frame-2"], "s-1.7", "s-1")


def test_a_retry_mark_names_its_attempt() -> None:
    codec = Codec.generate().bound("retries")
    message = _message()
    copy = marked_retry(codec, message, 3, body_digest(message.body))
    assert attempt_of(codec, copy.body, copy.message_id, copy.headers) == 3


def test_a_retry_mark_does_not_verify_for_another_body() -> None:
    codec = Codec.generate().bound("retries")
    message = _message()
    copy = marked_retry(codec, message, 1, body_digest(message.body))
    assert attempt_of(codec, b"other body", copy.message_id, copy.headers) is None


def test_a_retry_mark_does_not_verify_under_another_message_id() -> None:
    codec = Codec.generate().bound("retries")
    message = _message()
    copy = marked_retry(codec, message, 1, body_digest(message.body))
    assert attempt_of(codec, copy.body, "s-1.8", copy.headers) is None


def test_a_retry_mark_does_not_verify_on_another_connection() -> None:
    codec = Codec.generate()
    message = _message()
    copy = marked_retry(codec.bound("a"), message, 1, body_digest(message.body))
    assert attempt_of(codec.bound("b"), copy.body, copy.message_id, copy.headers) is None


def test_a_retry_mark_made_without_the_key_does_not_verify() -> None:
    message = _message()
    forged = marked_retry(Codec.generate().bound("c"), message, 1, body_digest(message.body))
    receiver = Codec.generate().bound("c")
    assert attempt_of(receiver, forged.body, forged.message_id, forged.headers) is None


def test_a_message_without_a_mark_has_no_attempt() -> None:
    codec = Codec.generate().bound("retries")
    message = _message()
    assert attempt_of(codec, message.body, message.message_id, message.headers) is None
    assert attempt_of(codec, message.body, message.message_id, {RETRY_HEADER: "text"}) is None


def test_each_retry_attempt_is_taken_once_and_only_newer_ones_after_it() -> None:
    log = RetryLog()
    assert log.take("s-1.7", 1)
    assert not log.take("s-1.7", 1)  # the same copy again: a replay
    assert log.take("s-1.7", 3)
    assert not log.take("s-1.7", 2)  # older than one taken
    assert log.take("s-1.8", 1)  # another message


def test_the_retry_log_forgets_the_oldest_ids_beyond_its_capacity() -> None:
    log = RetryLog(capacity=2)
    for message_id in ("a", "b", "c"):
        assert log.take(message_id, 1)
    assert log.take("a", 1)  # forgotten, so taken again
    assert not log.take("c", 1)
