"""SerdeChannel's contract, proven by running the suite's serializer tests on a loopback backend.

`LoopbackSerdeConnector` carries frames (bytes) through an in-process AsyncioConnector, so the
standard serializer, decode-error and forged-message tests exercise `SerdeChannel` itself.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connector_core import (
    AsyncioChannel,
    AsyncioConnector,
    ChannelClosedError,
    Codec,
    Connector,
    SerdeChannel,
    Settings,
)
from connector_core.serde import TAG_SIZE
from connector_core.testing import ConnectorConformance


class LoopbackSerdeChannel(SerdeChannel):
    def __init__(self, inner: AsyncioChannel, codec: Codec) -> None:
        super().__init__(maxsize=inner.maxsize, codec=codec)
        self._inner = inner

    async def send_bytes(self, msg: bytes) -> None:
        self._check_open()
        await self._inner.send(msg)

    async def recv_bytes(self) -> bytes:
        if self.is_closed:
            raise ChannelClosedError("closed")
        frame: bytes = await self._inner.recv()
        return frame

    async def close(self) -> None:
        await super().close()
        await self._inner.close()

    def _buffered(self) -> int:
        return self._inner.statistics().buffered

    def _peer_counts(self) -> tuple[int, int]:
        stats = self._inner.statistics()
        return (stats.senders, stats.receivers)


class LoopbackSerdeConnector(Connector):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inner = AsyncioConnector(self.spec, maxsize=self.maxsize)
        self.codec = Settings().make_codec()

    async def connect_send(self) -> LoopbackSerdeChannel:
        return LoopbackSerdeChannel(await self._inner.connect_send(), self.codec)

    async def connect_recv(self) -> LoopbackSerdeChannel:
        return LoopbackSerdeChannel(await self._inner.connect_recv(), self.codec)


class TestLoopbackSerdeConformance(ConnectorConformance):
    connector_class = LoopbackSerdeConnector
    serialized = True


async def _pair() -> tuple[LoopbackSerdeChannel, LoopbackSerdeChannel]:
    connector = LoopbackSerdeConnector({"source": "a.out", "target": "b.in"})
    return await connector.connect_send(), await connector.connect_recv()


async def test_forged_messages_are_logged_once_and_all_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender, receiver = await _pair()
    for _ in range(3):
        await sender.send_bytes(b"\x00" * TAG_SIZE + b"payload")
    await sender.send("ok")
    with caplog.at_level(logging.WARNING, logger="connector_core.serde"):
        assert await receiver.recv() == "ok"
    assert receiver.statistics().rejected == 3
    assert len([r for r in caplog.records if "failed verification" in r.message]) == 1


async def test_default_serde_channel_signs_with_its_own_key() -> None:
    sender, _ = await _pair()
    assert LoopbackSerdeChannel(AsyncioChannel(), Codec.generate()).codec != sender.codec
    assert sender.codec.signed
