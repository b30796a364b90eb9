"""Conformance: serialization errors, undecodable bytes and forged messages."""

from __future__ import annotations

import asyncio
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

from connector_core.channel import Channel
from connector_core.exceptions import ChannelDecodeError, ChannelSerializationError
from connector_core.serde import TAG_SIZE, SerdeChannel
from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import STEP_TIMEOUT, ConnectorFactory, drain
from connector_core.transport_channel import TransportChannel

__all__ = ["SerdeTests"]


class _Bomb:
    """Unpickling this creates a file: proof that a payload ran if the file appears."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


class SerdeTests(ConformanceBase):
    """Serialized channels survive bad items and bad bytes, and trust only signed frames."""

    def _serde(self, channel: Channel) -> SerdeChannel:
        if not self.serialized:
            pytest.skip("the backend's channels do not serialize items")
        assert isinstance(channel, SerdeChannel), "serialized = True needs SerdeChannel channels"
        return channel

    async def test_unserializable_item_raises_and_the_channel_stays_usable(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """Sending an unpicklable item raises `ChannelSerializationError`; later sends work.

        Troubleshooting:
            - Serialize before touching the transport (SerdeChannel.send does), so a failed
              item leaves no partial frame or batch behind.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0])
            receiver = await h.receiver(connector)
            sender = self._serde(await h.sender(connector))
            with pytest.raises(ChannelSerializationError):
                await sender.send(threading.Lock())
            await sender.send("fine")
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "fine"

    async def test_undecodable_bytes_raise_once_and_the_channel_goes_on(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """A signed frame that does not deserialize raises `ChannelDecodeError` once.

        Troubleshooting:
            - Acknowledge or discard the bad frame before raising, so it is not redelivered.
            - Raise from `recv()` only; the next `recv()` returns the next good item.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0])
            receiver = await h.receiver(connector)
            sender = self._serde(await h.sender(connector))
            await sender.send_bytes(sender.seal_bytes(b"\x80\x05this is not a pickle"))
            await sender.send("next")
            async with asyncio.timeout(STEP_TIMEOUT):
                with pytest.raises(ChannelDecodeError):
                    await receiver.recv()
                assert await receiver.recv() == "next"

    async def test_forged_message_is_dropped_before_deserialization(
        self, connector_factory: ConnectorFactory, tmp_path: Path
    ) -> None:
        """A frame with a wrong signature is dropped unread and counted; its payload never runs.

        Troubleshooting:
            - Verify the HMAC before deserializing (SerdeChannel.recv does; do not decode
              frames anywhere else, e.g. in a background consumer).
            - Count the drop in `statistics().rejected`.
        """
        marker = tmp_path / "payload-ran"
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0])
            receiver = self._serde(await h.receiver(connector))
            sender = self._serde(await h.sender(connector))
            forged = b"\x00" * TAG_SIZE + pickle.dumps(_Bomb(marker))
            await sender.send_bytes(forged)
            await sender.send("genuine")
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "genuine"
            assert not marker.exists(), "the forged payload was deserialized"
            assert receiver.statistics().rejected == 1

    async def test_a_burst_of_sends_leaves_in_runs_under_one_signature_each(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`send()`s queued while the transport is busy are sealed together, in order.

        500 sends in a row, none of them waiting for room, arrive whole and in order in
        fewer than a quarter as many signed frames.

        Troubleshooting:
            - Make the send transport an `ItemSender` (`connector_core.transport`): take
              `send()`'s items unsealed into core's `Outbox` (`offer_item`/`put_item`), whose
              `take()` seals each run it takes as one frame.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=1000)
            receiver = await h.receiver(connector)
            sender = self._serde(await h.sender(connector))
            if not isinstance(sender, TransportChannel) or sender._item_tx is None:
                pytest.skip("the send transport seals each item alone (no ItemSender here)")
            for i in range(500):
                await sender.send({"i": i})
            await sender.close()
            async with asyncio.timeout(STEP_TIMEOUT * 4):
                assert await drain(receiver) == [{"i": i} for i in range(500)]
            frames = sender._sealer.seq
            assert frames < 500 / 4, f"{frames} frames for 500 items sent in one burst"
