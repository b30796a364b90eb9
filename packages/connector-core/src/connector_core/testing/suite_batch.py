"""Conformance: the batch calls, `send_many()` and `recv_many()`, beside `send()`/`recv()`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from connector_core.exceptions import ChannelClosedError, ChannelSerializationError
from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import STEP_TIMEOUT, ConnectorFactory, drain

__all__ = ["BatchTests"]

_CANCEL_TIMEOUTS = (0.0001, 0.001, 0.0003, 0.01, 0.1)


async def _drain_many(channel: Any, max_items: int) -> list[list[Any]]:
    """Every list `recv_many(max_items)` returns until the end of the stream."""
    batches: list[list[Any]] = []
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            try:
                batches.append(await channel.recv_many(max_items))
            except ChannelClosedError:
                return batches


class BatchTests(ConformanceBase):
    """`send_many` and `recv_many` keep every per-item promise: order, once, backpressure."""

    async def test_send_many_delivers_every_item_once_in_order(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Items of `send_many` arrive through `recv()` in order, once (pubsub: everywhere).

        Troubleshooting:
            - A frame of several items must be split back into items by the channel, which
              keeps the rest for the next `recv()`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receivers = [await h.receiver(connector) for _ in range(2)]
            sender = await h.sender(connector)
            receiving = [asyncio.create_task(drain(r)) for r in receivers]
            await sender.send_many(range(1000))
            await sender.send_many([])
            await sender.close()
            got = [await task for task in receiving]
            if mode is ConnectorMode.PUBSUB:
                assert got == [list(range(1000))] * 2
            else:
                assert sorted(got[0] + got[1]) == list(range(1000))
                for items in got:
                    assert items == sorted(items)
            assert sender.statistics().sent == 1000

    async def test_recv_many_returns_items_sent_one_by_one_in_order(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Items sent with `send()` come out of `recv_many()` in order, none lost or twice.

        Troubleshooting:
            - `recv_many` takes what the transport already holds (`try_recv`), then stops.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)

            async def produce() -> None:
                for i in range(500):
                    await sender.send(i)
                await sender.close()

            producer = asyncio.create_task(produce())
            batches = await _drain_many(receiver, 50)
            await producer
            assert [i for batch in batches for i in batch] == list(range(500))
            assert all(1 <= len(batch) <= 50 for batch in batches)
            assert receiver.statistics().received == 500

    async def test_recv_many_returns_what_has_arrived_without_waiting_for_more(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """With the sender still open, `recv_many(1000)` returns the few items sent so far.

        Troubleshooting:
            - Wait only for the first item; after it, take without waiting.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send_many(["a", "b", "c"])
            got: list[Any] = []
            async with asyncio.timeout(STEP_TIMEOUT):
                while len(got) < 3:
                    batch = await receiver.recv_many(1000)
                    assert 1 <= len(batch) <= 3 - len(got)
                    got += batch
            assert got == ["a", "b", "c"]

    async def test_recv_many_returns_at_most_max_items_and_keeps_the_rest(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """A batch larger than `max_items` is handed out over several calls, in order.

        Troubleshooting:
            - Items of a frame beyond `max_items` stay in the channel for the next call.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send_many(range(30))
            await sender.close()
            batches = await _drain_many(receiver, 7)
            assert [i for batch in batches for i in batch] == list(range(30))
            assert all(1 <= len(batch) <= 7 for batch in batches)

    async def test_recv_many_raises_channel_closed_at_the_end(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Once everything was delivered and every sender closed, `recv_many` raises.

        Troubleshooting:
            - `recv_many` ends the way `recv()` does, and the receiver is closed after it.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send_many([1, 2])
            await sender.close()
            assert await _drain_many(receiver, 10) in ([[1, 2]], [[1], [2]])
            with pytest.raises(ChannelClosedError):
                await receiver.recv_many(10)
            assert receiver.is_closed

    async def test_batches_iterates_lists_until_the_end(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`async for batch in channel.batches(n)` yields lists and ends with the stream.

        Troubleshooting:
            - `batches()` is `recv_many()` in a loop that stops at `ChannelClosedError`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send_many(range(20))
            await sender.close()
            got: list[Any] = []
            async with asyncio.timeout(STEP_TIMEOUT):
                async for batch in receiver.batches(8):
                    assert 1 <= len(batch) <= 8
                    got += batch
            assert got == list(range(20))

    async def test_recv_many_refuses_a_max_items_below_one(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """`recv_many(0)` raises ValueError and `recv_many("3")` TypeError; nothing is taken.

        Troubleshooting:
            - Check `max_items` (`connector_core.channel.check_max_items`) before waiting.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0], maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send("kept")
            with pytest.raises(ValueError, match="max_items"):
                await receiver.recv_many(0)
            with pytest.raises(TypeError, match="max_items"):
                await receiver.recv_many("3")  # type: ignore[arg-type]
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv_many(5) == ["kept"]

    async def test_send_many_counts_backpressure_in_items(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """With nobody receiving, `send_many` stops after `maxsize` items (+ slack), not frames.

        Troubleshooting:
            - A frame of n items takes n items of room: in the outbox (`Outbox.offer(frame,
              n)`), in credits, and in the receiver's buffer.
            - `send_many` seals batches of at most `maxsize` items, so a batch always fits.
        """
        maxsize = 4
        bound = maxsize + self.backpressure_slack
        total = bound + 40
        payload = b"x" * self.backpressure_item_size
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=maxsize)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            producer = asyncio.create_task(sender.send_many((i, payload) for i in range(total)))
            done, _ = await asyncio.wait({producer}, timeout=self.stall_window)
            assert not done, f"send_many of {total} items completed while nobody received"
            sent = sender.statistics().sent
            assert sent <= bound, f"{sent} items were sent while nobody received (bound {bound})"
            receiving = asyncio.create_task(drain(receiver))
            await producer
            await sender.close()
            assert [i for i, _ in await receiving] == list(range(total))

    async def test_cancelled_send_many_sent_a_prefix_of_whole_items(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """A `send_many` cancelled while blocked sent its first `statistics().sent` items.

        Troubleshooting:
            - Count an item as sent only once its frame is in the transport; a frame waiting
              for room when the call is cancelled was not queued at all.
        """
        maxsize = 4
        bound = maxsize + self.backpressure_slack
        payload = b"x" * self.backpressure_item_size
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=maxsize)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            producer = asyncio.create_task(
                sender.send_many((i, payload) for i in range(bound + 40))
            )
            done, _ = await asyncio.wait({producer}, timeout=self.stall_window)
            assert not done, "send_many did not block while nobody received"
            producer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await producer
            sent = sender.statistics().sent
            receiving = asyncio.create_task(drain(receiver))
            await sender.send(("after", payload))
            await sender.close()
            assert [i for i, _ in await receiving] == [*range(sent), "after"]

    async def test_cancelled_recv_many_loses_and_duplicates_nothing(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`recv_many` calls cancelled by tiny timeouts during a stream lose nothing.

        Troubleshooting:
            - Take items into the returned list only after the last await of the call.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)

            async def produce() -> None:
                for start in range(0, 400, 10):
                    await sender.send_many(range(start, start + 10))
                await sender.close()

            producer = asyncio.create_task(produce())
            items: list[Any] = []
            cancelled = 0
            async with asyncio.timeout(STEP_TIMEOUT * 2):
                while True:
                    timeout = _CANCEL_TIMEOUTS[cancelled % len(_CANCEL_TIMEOUTS)]
                    try:
                        items += await asyncio.wait_for(receiver.recv_many(16), timeout)
                    except TimeoutError:
                        cancelled += 1
                    except ChannelClosedError:
                        break
            await producer
            assert items == list(range(400))

    async def test_a_receiver_closed_in_the_middle_of_a_batch_leaves_the_rest_to_the_others(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """Pipeline: the items of a batch its receiver did not return reach another receiver.

        Troubleshooting:
            - On close, the channel calls `give_back(frame, items)` with the items it took and
              did not return; the transport hands that frame on like one it never took.
        """
        self.require_mode(ConnectorMode.PIPELINE)
        async with self.harness(connector_factory) as h:
            connector = h.connector(ConnectorMode.PIPELINE, maxsize=64)
            first = await h.receiver(connector)
            sender = await h.sender(connector)
            await sender.send_many(range(40))
            async with asyncio.timeout(STEP_TIMEOUT):
                taken = [await first.recv()]
            second = await h.receiver(connector)
            await first.close()
            await sender.close()
            rest = await drain(second)
            assert sorted(taken + rest) == list(range(40))
            assert len(taken + rest) == 40

    async def test_send_many_with_an_unserializable_item_sends_none_of_them(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """An item that cannot be serialized fails the whole `send_many`; none was sent.

        Troubleshooting:
            - Serialize every batch before queueing the first one.
        """
        if not self.serialized:
            pytest.skip("the backend's channels pass items by reference")
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0], maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            with pytest.raises(ChannelSerializationError):
                await sender.send_many([1, threading.Lock(), 2])
            assert sender.statistics().sent == 0
            await sender.send_many([3, 4])
            await sender.close()
            assert await drain(receiver) == [3, 4]
