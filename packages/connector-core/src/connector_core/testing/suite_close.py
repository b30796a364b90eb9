"""Conformance: close semantics with many senders and many receivers."""

from __future__ import annotations

import asyncio

import pytest

from connector_core.exceptions import ChannelClosedError
from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import (
    STEP_TIMEOUT,
    ConnectorFactory,
    assert_delivered_once,
    drain,
)

__all__ = ["CloseTests"]


class CloseTests(ConformanceBase):
    """`close()` on senders ends the connection for every receiver, after delivery."""

    async def test_close_with_many_senders_ends_every_receiver(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Three senders, three receivers: every receiver ends after the last sender closed.

        Troubleshooting:
            - Count senders: the connection ends when *every* sender has closed.
            - In a pipeline, one end-of-stream marker taken by one receiver is not enough:
              every competing receiver must learn of the end.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receivers = [await h.receiver(connector) for _ in range(3)]
            senders = [await h.sender(connector) for _ in range(3)]
            drains = [asyncio.create_task(drain(r)) for r in receivers]

            async def produce(index: int) -> None:
                for i in range(50):
                    await senders[index].send((index, i))
                await senders[index].close()

            await asyncio.gather(*(produce(i) for i in range(3)))
            results = await asyncio.gather(*drains)
            everything = [(s, i) for s in range(3) for i in range(50)]
            assert_delivered_once(results, everything, mode)

    async def test_receivers_keep_receiving_until_the_last_sender_closes(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """After one of two senders closes, the receiver still gets the other's messages.

        Troubleshooting:
            - Do not end the connection on the first sender's close.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            first = await h.sender(connector)
            second = await h.sender(connector)
            await first.send("a")
            await first.close()
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "a"
            await second.send("b")
            await second.close()
            assert await drain(receiver) == ["b"]

    async def test_receiver_is_closed_after_the_end_of_the_stream(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Once `recv()` raised `ChannelClosedError` at the end, `is_closed` is True.

        Troubleshooting:
            - Mark the receiver closed (and release what it holds) where `recv()` raises
              the end of the stream, not only in `close()`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send("last")
            await sender.close()
            assert await drain(receiver) == ["last"]
            assert receiver.is_closed is True

    async def test_async_for_end_leaves_the_receiver_closed(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """An `async for` loop that ended with the stream leaves `is_closed` True.

        Troubleshooting:
            - `async for` ends on the same `ChannelClosedError` as `recv()`: see
              `test_receiver_is_closed_after_the_end_of_the_stream`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send(1)
            await sender.close()
            async with asyncio.timeout(STEP_TIMEOUT):
                assert [item async for item in receiver] == [1]
            assert receiver.is_closed is True

    async def test_send_after_close_raises(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`send()` on a closed channel raises `ChannelClosedError`.

        Troubleshooting:
            - Check `is_closed` at the top of `send` (SerdeChannel does).
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.close()
            with pytest.raises(ChannelClosedError):
                await sender.send("late")

    async def test_recv_after_receiver_close_raises(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`recv()` on a receiver that was closed raises `ChannelClosedError`.

        Troubleshooting:
            - A receiver's own close stops it, even while senders are still open.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            await h.sender(connector)
            await receiver.close()
            with pytest.raises(ChannelClosedError):
                async with asyncio.timeout(STEP_TIMEOUT):
                    await receiver.recv()

    async def test_close_twice_is_harmless(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Closing a sender or a receiver twice raises nothing and changes nothing.

        Troubleshooting:
            - Return early from `close()` when already closed; do not send a second
              end-of-stream marker or decrement a count twice.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            other = await h.sender(connector)
            await sender.send(1)
            await sender.close()
            await sender.close()
            await other.send(2)
            async with asyncio.timeout(STEP_TIMEOUT):
                assert sorted([await receiver.recv(), await receiver.recv()]) == [1, 2]
            await other.close()
            assert await drain(receiver) == []
            await receiver.close()
            await receiver.close()

    async def test_async_with_closes_the_channel(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`async with sender:` closes it on exit, which ends the connection.

        Troubleshooting:
            - `Channel.__aexit__` awaits `close()`; do not override it without calling close.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            async with sender:
                await sender.send("inside")
            assert sender.is_closed
            assert await drain(receiver) == ["inside"]

    async def test_closed_receiver_leaves_untaken_messages_for_the_others(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """Pipeline: a receiver that takes one item and closes leaves the rest to the others.

        Troubleshooting:
            - Items prefetched into a closing receiver's local buffer must go back to the
              shared queue (requeue, nack, or return them), not vanish with it.
        """
        self.require_mode(ConnectorMode.PIPELINE)
        async with self.harness(connector_factory) as h:
            connector = h.connector(ConnectorMode.PIPELINE)
            quitter = await h.receiver(connector)
            stayer = await h.receiver(connector)
            sender = await h.sender(connector)
            for i in range(100):
                await sender.send(i)
            await sender.close()
            async with asyncio.timeout(STEP_TIMEOUT):
                first = await quitter.recv()
            await quitter.close()
            rest = await drain(stayer)
            assert sorted([first, *rest]) == list(range(100))
