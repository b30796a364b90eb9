"""Conformance: order, exactly-once delivery and pubsub fan-out."""

from __future__ import annotations

import asyncio
from typing import Any

from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import (
    STEP_TIMEOUT,
    ConnectorFactory,
    assert_delivered_once,
    drain,
)

__all__ = ["DeliveryTests"]


def _in_sender_order(items: list[Any]) -> bool:
    last: dict[Any, int] = {}
    for sender, index in items:
        if index <= last.get(sender, -1):
            return False
        last[sender] = index
    return True


class DeliveryTests(ConformanceBase):
    """Everything sent is delivered, once, in order."""

    async def test_messages_from_one_sender_arrive_in_order(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """One sender, one receiver: the receiver gets every item in the order sent.

        Troubleshooting:
            - Batches must keep their internal order and be flushed in order.
            - Retries after a transient error must not reorder.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            for i in range(300):
                await sender.send(i)
            await sender.close()
            assert await drain(receiver) == list(range(300))

    async def test_pipeline_delivers_each_message_exactly_once_across_competing_receivers(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """Two senders, three competing receivers: every item is received exactly once.

        Troubleshooting:
            - Pipeline receivers must share one queue, not get copies.
            - Each receiver must end when the last sender closes, not only the first one
              that sees an end-of-stream marker.
        """
        self.require_mode(ConnectorMode.PIPELINE)
        async with self.harness(connector_factory) as h:
            connector = h.connector(ConnectorMode.PIPELINE)
            receivers = [await h.receiver(connector) for _ in range(3)]
            senders = [await h.sender(connector) for _ in range(2)]
            drains = [asyncio.create_task(drain(r)) for r in receivers]

            async def produce(index: int) -> None:
                for i in range(200):
                    await senders[index].send((index, i))
                await senders[index].close()

            await asyncio.gather(produce(0), produce(1))
            received = await asyncio.gather(*drains)
            expected = [(s, i) for s in range(2) for i in range(200)]
            assert_delivered_once(received, expected, ConnectorMode.PIPELINE)

    async def test_pubsub_delivers_every_message_to_every_subscriber(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """Two senders, three subscribers: each subscriber gets every item once, per-sender order.

        Troubleshooting:
            - Each subscriber needs its own queue (or its own cursor).
            - Subscription must be complete when `connect_recv()` returns.
        """
        self.require_mode(ConnectorMode.PUBSUB)
        async with self.harness(connector_factory) as h:
            connector = h.connector(ConnectorMode.PUBSUB)
            receivers = [await h.receiver(connector) for _ in range(3)]
            senders = [await h.sender(connector) for _ in range(2)]
            drains = [asyncio.create_task(drain(r)) for r in receivers]

            async def produce(index: int) -> None:
                for i in range(100):
                    await senders[index].send((index, i))
                await senders[index].close()

            await asyncio.gather(produce(0), produce(1))
            received = await asyncio.gather(*drains)
            expected = [(s, i) for s in range(2) for i in range(100)]
            assert_delivered_once(received, expected, ConnectorMode.PUBSUB)
            for items in received:
                assert _in_sender_order(items)

    async def test_message_sent_right_after_connect_recv_reaches_the_subscriber(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """A subscriber connected after the sender gets a message sent the moment it connected.

        Troubleshooting:
            - `connect_recv()` must return only once the subscription is active at the
              publisher or broker (the slow-joiner problem); wait for a real signal, never sleep.
        """
        self.require_mode(ConnectorMode.PUBSUB)
        async with self.harness(connector_factory) as h:
            connector = h.connector(ConnectorMode.PUBSUB)
            sender = await h.sender(connector)
            receiver = await h.receiver(connector)
            await sender.send("first")
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "first"

    async def test_message_sent_right_after_connect_send_reaches_the_subscriber(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """A sender connected after the subscriber: its first message is not lost.

        Troubleshooting:
            - `connect_send()` must not return before the sender can reach the existing
              subscribers (a connect that is still in progress drops pubsub messages).
        """
        self.require_mode(ConnectorMode.PUBSUB)
        async with self.harness(connector_factory) as h:
            connector = h.connector(ConnectorMode.PUBSUB)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send("first")
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "first"

    async def test_async_for_ends_when_the_senders_close(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`async for item in receiver` yields every item and ends cleanly after the close.

        Troubleshooting:
            - `recv()` must raise `ChannelClosedError` at the end of the connection;
              `Channel.__anext__` turns it into `StopAsyncIteration`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            for i in range(10):
                await sender.send(i)
            await sender.close()
            items = []
            async with asyncio.timeout(STEP_TIMEOUT):
                async for item in receiver:
                    items.append(item)
            assert items == list(range(10))
