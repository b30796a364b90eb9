"""A broker gone for good: send() and close() raise ChannelError after the deadline."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio
from dependency_injector import providers

from connector_core.di import container
from connector_core.exceptions import ChannelError
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, unique_spec
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector, purge
from connector_rabbitmq.settings import RabbitMQSettings

pytestmark = [pytest.mark.rabbitmq, pytest.mark.fault, pytest.mark.asyncio(loop_scope="session")]

DEADLINE = 1.0
"""The unreachable timeout these tests set (the default is 30 s)."""


class Proxy:
    """A TCP proxy on loopback to the broker; `cut()` closes it and every link for good."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()


@pytest_asyncio.fixture(loop_scope="session")
async def through_proxy(broker: str) -> AsyncIterator[Proxy]:
    """Settings whose broker is a proxy the test can cut, with a short deadline."""
    parts = urlsplit(broker)
    proxy = Proxy(parts.hostname or "localhost", parts.port or 5672)
    port = await proxy.start()
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    settings = RabbitMQSettings(
        RABBITMQ_URL=urlunsplit(parts._replace(netloc=netloc)), unreachable_timeout=DEADLINE
    )
    with container.rabbitmq_settings.override(providers.Object(settings)):
        yield proxy
    with contextlib.suppress(Exception):
        await proxy.cut()


async def _sender_cut_off(proxy: Proxy) -> tuple[RabbitMQConnector, RabbitMQChannel]:
    connector = RabbitMQConnector(unique_spec(ConnectorMode.PIPELINE), maxsize=16)
    sender = await connector.connect_send()
    await sender.send("confirmed")
    await sender.flush()
    await proxy.cut()
    return connector, sender


async def _send_forever(sender: RabbitMQChannel) -> None:
    """Sends until send() raises: it fills the buffer, then waits for room."""
    while True:
        await sender.send("not confirmed")


async def test_close_raises_once_the_broker_stays_unreachable_past_the_deadline(
    through_proxy: Proxy,
) -> None:
    connector, sender = await _sender_cut_off(through_proxy)
    await sender.send("not confirmed")
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(
            ChannelError, match=r"unreachable for 1 s.* 1 item\(s\) .* not confirmed"
        ):
            await sender.close()
    await purge(connector.job_id, [connector])


async def test_send_raises_once_the_broker_stays_unreachable_past_the_deadline(
    through_proxy: Proxy,
) -> None:
    connector, sender = await _sender_cut_off(through_proxy)
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(ChannelError, match=r"unreachable for 1 s.*not confirmed"):
            await _send_forever(sender)
    with pytest.raises(ChannelError, match="unreachable"):
        await sender.close()
    await purge(connector.job_id, [connector])
