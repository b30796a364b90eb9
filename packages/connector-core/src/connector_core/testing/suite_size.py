"""Conformance: an item over the backend's largest item is refused at send, nothing sent."""

from __future__ import annotations

import pytest

from connector_core.exceptions import ChannelSerializationError
from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import ConnectorFactory, drain

__all__ = ["SizeLimitTests"]


class SizeLimitTests(ConformanceBase):
    """A transport with a largest item (`SizeLimited`) refuses a larger one before it queues it."""

    def _largest(self) -> int:
        if self.largest_item is None:
            pytest.skip("the backend has no largest item")
        return self.largest_item

    def _check_refusal(self, error: ChannelSerializationError) -> None:
        message = str(error)
        assert "nothing was sent" in message, message
        assert self.size_limit_name in message, f"the error does not name the limit: {message}"
        assert str(self.largest_item) in message, f"the error does not say the limit: {message}"

    async def test_an_item_over_the_largest_item_fails_its_send_and_the_channel_goes_on(
        self, size_limited_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`send()` of a too large item raises `ChannelSerializationError`; later sends work.

        Troubleshooting:
            - Implement `SizeLimited.check_size` on the send transport: the item must be
              refused before it is queued, not by the server or broker after the fact.
            - The message says that nothing was sent and names the limit and its value
              (`size_limit_name`, `largest_item`).
        """
        largest = self._largest()
        async with self.harness(size_limited_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            with pytest.raises(ChannelSerializationError) as raised:
                await sender.send(bytes(largest))  # plus the serializer's header and the tag
            self._check_refusal(raised.value)
            assert sender.statistics().sent == 0
            await sender.send("small")
            await sender.close()
            assert await drain(receiver) == ["small"]

    async def test_send_many_with_an_item_over_the_largest_item_sends_none_of_them(
        self, size_limited_factory: ConnectorFactory
    ) -> None:
        """`send_many()` with one too large item raises, whatever its place; none is sent.

        Troubleshooting:
            - Core checks the size of every frame of the call before it queues the first
              (`SizeLimited`): a transport that checks while it sends has sent the others.
        """
        largest = self._largest()
        self.require_mode(ConnectorMode.PIPELINE)
        async with self.harness(size_limited_factory) as h:
            connector = h.connector(ConnectorMode.PIPELINE)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            with pytest.raises(ChannelSerializationError) as raised:
                await sender.send_many([bytes(largest), "tail"])
            self._check_refusal(raised.value)
            with pytest.raises(ChannelSerializationError) as raised:
                await sender.send_many(["head", bytes(largest // 2), bytes(largest), "tail"])
            self._check_refusal(raised.value)
            assert sender.statistics().sent == 0
            await sender.send("after")
            await sender.close()
            assert await drain(receiver) == ["after"]
