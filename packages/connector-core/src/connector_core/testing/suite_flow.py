"""Conformance: backpressure and cancellation safety."""

from __future__ import annotations

import asyncio
from typing import Any

from connector_core.exceptions import ChannelClosedError
from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import STEP_TIMEOUT, ConnectorFactory, drain

__all__ = ["FlowTests"]

_CANCEL_TIMEOUTS = (0.0001, 0.001, 0.0003, 0.01, 0.1)


class FlowTests(ConformanceBase):
    """`maxsize` bounds buffering; cancelled sends and receives lose and duplicate nothing."""

    async def test_send_waits_while_the_receiver_is_stalled(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """With nobody receiving, sends stop at `maxsize` (+ the transport's slack); none lost.

        Troubleshooting:
            - Bound every buffer between sender and receiver (local queues, socket high-water
              marks, broker queue length, actor buffer) and make `send()` wait, not drop.
            - If the transport buffers more than `maxsize`, set `backpressure_slack`.
        """
        maxsize = 4
        bound = maxsize + self.backpressure_slack
        total = bound + 8
        payload = b"x" * self.backpressure_item_size
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=maxsize)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            sent = 0

            async def produce() -> None:
                nonlocal sent
                for i in range(total):
                    await sender.send((i, payload))
                    sent += 1
                await sender.close()

            producer = asyncio.create_task(produce())
            done, _ = await asyncio.wait({producer}, timeout=self.stall_window)
            assert not done, f"all {total} sends completed while nobody received (bound {bound})"
            assert sent <= bound, f"{sent} sends completed while nobody received (bound {bound})"
            items = await drain(receiver)
            await producer
            assert [i for i, _ in items] == list(range(total))

    async def test_cancelled_recv_loses_and_duplicates_nothing(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Receives cancelled by tiny timeouts during a stream lose and duplicate nothing.

        Troubleshooting:
            - An item taken from the transport by a `recv()` that is then cancelled must stay
              with the channel for the next `recv()` (poll for readiness, then take without
              blocking; keep fetched batches in the channel, not in the task).
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=64)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)

            async def produce() -> None:
                for i in range(400):
                    await sender.send(i)
                await sender.close()

            producer = asyncio.create_task(produce())
            items: list[Any] = []
            cancelled = 0
            async with asyncio.timeout(STEP_TIMEOUT * 2):
                while True:
                    timeout = _CANCEL_TIMEOUTS[cancelled % len(_CANCEL_TIMEOUTS)]
                    try:
                        items.append(await asyncio.wait_for(receiver.recv(), timeout))
                    except TimeoutError:
                        cancelled += 1
                    except ChannelClosedError:
                        break
            await producer
            assert items == list(range(400))

    async def test_cancelled_send_sends_its_item_whole_or_not_at_all(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """A send cancelled while blocked either delivered its item once or not at all.

        Troubleshooting:
            - Do not split one item across an await that can be cancelled (pubsub: deliver
              to all subscribers or none; batching: an item is in the batch or not).
        """
        maxsize = 4
        bound = maxsize + self.backpressure_slack
        payload = b"x" * self.backpressure_item_size
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=maxsize)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            blocked_at = None
            for i in range(bound + 8):
                try:
                    await asyncio.wait_for(sender.send((i, payload)), self.stall_window / 4)
                except TimeoutError:
                    blocked_at = i
                    break
            assert blocked_at is not None, f"no send blocked within {bound + 8} items"
            receiving = asyncio.create_task(drain(receiver))
            await sender.send(("after", payload))
            await sender.close()
            got = [i for i, _ in await receiving]
            assert got[:blocked_at] == list(range(blocked_at))
            assert got[blocked_at:] in ([blocked_at, "after"], ["after"])
